"""The application reaches the database through SQLAlchemy's and asyncpg's public APIs only:
no private attribute of a library object (`adapted._transaction`, `conn._handle_exception`…)."""

from __future__ import annotations

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[3] / "app"

# `obj._name` where obj is not the class's own self/cls. `Row._asdict`/`Row._mapping` are
# SQLAlchemy's public Row API (underscored only to stay clear of column names).
PRIVATE = re.compile(r"\b(?!self\b|cls\b)[A-Za-z_]\w*\._(?!asdict\b|mapping\b)[a-z]\w*")


def private_uses(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if PRIVATE.search(line.split("#", 1)[0])]


def test_the_guard_sees_a_private_attribute() -> None:
    assert private_uses("if adapted._transaction is None:\n    x = 1\n") == ["if adapted._transaction is None:"]
    assert private_uses("rows = [r._asdict() for r in found]  # public Row API\nself._cache = {}\n") == []


# The one known exception, not a database one: the OpenAPI generator's missing msgspec bounds are
# patched from Litestar's private schema modules until upstream states them (see its docstring).
OPENAPI_PATCH = "core/openapi_schema.py"


def test_no_module_of_the_app_uses_a_private_attribute() -> None:
    found = {
        str(path.relative_to(APP)): uses
        for path in sorted(APP.rglob("*.py"))
        if (uses := private_uses(path.read_text()))
    }
    patch = found.pop(OPENAPI_PATCH, [])
    assert found == {}
    assert all(use.startswith("from litestar._openapi.") for use in patch), patch


# The two ways to the database (CONTRIBUTING.md): SQLAlchemy through the session — with
# `text()` only in a repository (module or package), a model's DDL or the kernel's own
# infrastructure queries (app/core: replica lag) — and driver statements through app.core.db.
TEXT_SQL = re.compile(r"^from sqlalchemy import .*\btext\b", re.MULTILINE)
RAW_DRIVER = re.compile(r"\.(driver_connection|get_raw_connection|dbapi_connection)\b|^import asyncpg", re.MULTILINE)


def test_literal_sql_lives_in_repositories_and_the_driver_in_the_kernel() -> None:
    modules = {str(path.relative_to(APP)): path.read_text() for path in sorted(APP.rglob("*.py"))}
    with_text = [name for name, source in modules.items() if TEXT_SQL.search(source)]
    allowed = ("repository.py", "models.py")
    outside = [
        name
        for name in with_text
        if not name.endswith(allowed) and "/repository/" not in name and not name.startswith("core/")
    ]
    assert outside == []
    assert [name for name, source in modules.items() if RAW_DRIVER.search(source)] == ["core/db.py"]
