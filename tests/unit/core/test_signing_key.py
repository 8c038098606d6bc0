"""Processes of a fleet that start together agree on the generated master key (no OMS_SECRET_KEY)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRINT_KEY = "from app.core.signing import master_key; print(master_key().decode())"


def test_processes_starting_at_once_share_one_generated_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMS_SECRET_KEY"} | {"OMS_DATA_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", PRINT_KEY], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert keys == {(tmp_path / "secret.key").read_text().strip()}
    assert len(next(iter(keys))) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]
