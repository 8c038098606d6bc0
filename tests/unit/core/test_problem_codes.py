"""A problem's `code` is always one of the service's fixed identifiers: every Problem class in
app/ is walked, built with plausible arguments (a caller's text among them), and its code must
be a snake_case identifier from the known set, the same whatever the arguments."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import app
from app.core.errors import PROBLEM_BASE, Problem, known_codes, problem_response
from app.orders.returns.rules import Reason

APP = Path(app.__file__).resolve().parent
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Modules that start processes or servers when imported.
_SKIP = {"app.asgi", "app.worker", "app.cli"}


def _import_all() -> None:
    for module in pkgutil.walk_packages([str(APP)], prefix="app."):
        if module.name not in _SKIP:
            importlib.import_module(module.name)


def _problem_classes() -> list[type[Problem]]:
    _import_all()
    found: list[type[Problem]] = []

    def walk(cls: type[Problem]) -> Iterator[type[Problem]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    found = [Problem, *walk(Problem)]
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


CLASSES = _problem_classes()
# What a caller could put in front of us: a promotion code, a SKU, a name.
CALLER_TEXT = ["SUMMER10", "Summer Sale!", "../../etc/passwd", "x" * 300, "order_placed"]


def test_the_walk_finds_the_domains_problems() -> None:
    modules = {c.__module__ for c in CLASSES}
    assert {"app.orders.errors", "app.pricing.errors", "app.inventory.errors", "app.integration.errors"} <= modules
    assert len(CLASSES) > 50


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_problem_has_a_fixed_code(cls: type[Problem]) -> None:
    assert SNAKE.match(cls.code), cls.code
    assert cls.code in known_codes()
    builds = [cls(), cls("a detail"), cls("a detail", sku="SKU-1", lines=[{"line_no": 1}])]
    builds += [cls(f"code {text} failed", code=text, promotion_code=text) for text in CALLER_TEXT]
    for problem in builds:
        assert problem.code == cls.code, (cls, problem.code)
        document = problem_response(None, status=problem.status, code=problem.code, title=problem.title)
        assert document.content.type == PROBLEM_BASE + cls.code  # type: ignore[union-attr]
    caller = cls("x", code="SUMMER10")
    assert caller.extra["code"] == "SUMMER10"  # kept as data, never as the identity


def test_declared_refinements_keep_their_code() -> None:
    from app.core.errors import InvalidInput

    assert InvalidInput("x", code="unknown_channel").code == "unknown_channel"
    assert {r.value for r in Reason} <= known_codes()  # NotEligible answers a line's reason


def _calls_with_code() -> Iterator[tuple[str, int, ast.expr]]:
    names = {c.__name__ for c in CLASSES}
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in names:
                    for keyword in node.keywords:
                        if keyword.arg == "code":
                            yield str(path.relative_to(APP)), node.lineno, keyword.value


# `code=` values computed at run time, each from a fixed set checked here or in its domain.
_COMPUTED = {
    ("orders/returns/usecases/lifecycle.py", "first.value"),  # a Reason (declared, see above)
    ("inventory/usecases/counts.py", "rejected[0].reason"),  # a count line's fixed rejection reason
}


def test_every_code_override_in_the_source_is_a_known_identifier() -> None:
    computed = set()
    for path, line, value in _calls_with_code():
        if isinstance(value, ast.Constant):
            assert value.value in known_codes(), f"{path}:{line}: {value.value!r} is not declared"
        else:
            computed.add((path, ast.unparse(value)))
    assert computed <= _COMPUTED, f"review these code= values: {computed - _COMPUTED}"
