"""`rules.EVENT_TYPES` (what webhook subscriptions may name) lists every event the code records:
the source is read for the types passed to the outbox, and each one must be listed."""

from __future__ import annotations

import ast
from pathlib import Path

from app.fulfillment.rules import STATUSES
from app.integration import rules

APP = Path(__file__).resolve().parents[3] / "app"
# Functions whose first argument is an event type, and keywords that carry one.
RECORDERS = {"record", "record_event", "event_row", "_record", "_outbox_insert"}
KEYWORDS = {"event", "event_type", "type"}


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def recorded_types() -> tuple[set[str], set[str]]:
    """(literal event types, prefixes of f-string event types such as `fulfillment.`)."""
    literals: set[str] = set()
    prefixes: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            args: list[ast.expr] = []
            if _name(node.func) in RECORDERS:
                args += node.args[1:2] if _name(node.func) in {"record", "record_event", "_record"} else node.args[:1]
            args += [kw.value for kw in node.keywords if kw.arg in KEYWORDS]
            for arg in args:
                for value in (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) and "." in value.value:
                        literals.add(value.value)
                    elif isinstance(value, ast.JoinedStr) and isinstance(value.values[0], ast.Constant):
                        prefixes.add(str(value.values[0].value))
    return literals, prefixes


def test_every_recorded_event_type_is_known() -> None:
    literals, prefixes = recorded_types()
    assert {"order.placed", "stock.changed", "customer.created"} <= literals  # the scan finds them
    assert sorted(literals - set(rules.EVENT_TYPES)) == []
    # Types built at run time: their families are checked one by one below (`lines_`: the
    # fulfilment-progress flow's `event=f"lines_{kind}"`, recorded by orders as `order.lines_<kind>`).
    assert prefixes <= {"order.", "return.", "fulfillment.", "fulfillment.order_lines_", "lines_"}, prefixes


def test_event_families_built_at_run_time_are_known() -> None:
    assert {f"fulfillment.{s}" for s in STATUSES} <= set(rules.EVENT_TYPES)
    for kind in ("shipped", "collected", "cancelled"):
        assert f"fulfillment.order_lines_{kind}" in rules.EVENT_TYPES
    for event in ("lines_shipped", "lines_collected", "lines_delivered"):
        assert f"order.{event}" in rules.EVENT_TYPES
    for step in ("requested", "authorized", "received", "refunded", "closed", "rejected", "exchanged"):
        assert f"return.{step}" in rules.EVENT_TYPES


def test_unknown_types_are_named() -> None:
    assert rules.unknown_event_types(["*", "order.placed", "order.nope", "a.b"]) == ["a.b", "order.nope"]
