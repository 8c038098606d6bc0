"""The README's "Security model" table is the one ops/security_table.py generates from the
routes' `opt=roles(...)`: a route whose roles change without the README following fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("security_table", ROOT / "ops" / "security_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_security_table_is_the_generated_one() -> None:
    generator = _generator()
    generated = generator.markdown()
    assert generator.readme_table((ROOT / "README.md").read_text()) == generated


def test_table_names_each_role_and_denies_what_the_routes_deny() -> None:
    generated = _generator().markdown()
    header, _, *rows = generated.splitlines()
    roles = "admin | merchandiser | storefront | kiosk | contact_center | pos | logistics | integration"
    assert header == f"| path | {roles} |"
    webhooks = next(row for row in rows if row.startswith("| `/v1/webhooks` |"))
    cells = [cell.strip() for cell in webhooks.split("|")[2:-1]]
    # Only admin and integration keys manage webhooks; a storefront key may not.
    assert cells[2] == "" and "POST" in cells[7]
