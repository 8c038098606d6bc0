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


def test_no_module_of_the_app_uses_a_private_attribute() -> None:
    found = {
        str(path.relative_to(APP)): uses
        for path in sorted(APP.rglob("*.py"))
        if (uses := private_uses(path.read_text()))
    }
    assert found == {}
