"""Pure inventory rules."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from app.inventory import rules
from app.inventory.rules import CountDecision, CountRow, Line, OpenLine, Reason

T = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_available_is_never_negative_and_exact_when_positive(on_hand: int, reserved: int, safety: int) -> None:
    value = rules.available(on_hand, reserved, safety)
    assert value >= 0
    if on_hand >= reserved + safety:
        assert value == on_hand - reserved - safety
    else:
        assert value == 0


def test_adjustment_reasons_and_signs() -> None:
    assert rules.adjustment_problem(Reason.RECEIPT, 5) is None
    assert rules.adjustment_problem(Reason.CORRECTION, -5) is None
    assert rules.adjustment_problem(Reason.CORRECTION, 5) is None
    assert rules.adjustment_problem(Reason.DAMAGE, -1) is None
    assert rules.adjustment_problem(Reason.RECEIPT, -1) == "receipt adds stock: delta must be positive"
    assert rules.adjustment_problem(Reason.DAMAGE, 1) == "damage removes stock: delta must be negative"
    assert rules.adjustment_problem(Reason.RECEIPT, 0) == "delta must not be zero"
    assert "recorded by its own operation" in (rules.adjustment_problem(Reason.SALE, -1) or "")


def test_capabilities() -> None:
    assert rules.default_capabilities("warehouse") == rules.Capabilities(True, False, False, 5000)
    assert rules.default_capabilities("store") == rules.Capabilities(False, True, True, 50)
    assert rules.capability_problem("warehouse", False, False) == "every warehouse ships"
    assert rules.capability_problem("warehouse", True, True) == "customers collect only in stores"
    assert rules.capability_problem("store", True, True) is None


def test_distance_paris_lyon() -> None:
    assert round(rules.distance_km(48.8566, 2.3522, 45.7640, 4.8357), 1) == 391.5
    assert rules.distance_km(10, 10, 10, 10) == 0


def test_lock_order_and_duplicates() -> None:
    lines = [Line("B", "S1", 1), Line("A", "S2", 1), Line("A", "S1", 1)]
    assert rules.lock_order(lines) == [Line("A", "S1", 1), Line("A", "S2", 1), Line("B", "S1", 1)]
    assert rules.duplicate_keys([("a",), ("b",), ("a",), ("a",)]) == [("a",)]


def test_settle_plan() -> None:
    held = [OpenLine("A", "S1", 3, 1, 0), OpenLine("B", "S1", 2, 0, 2)]
    assert rules.settle_plan(held, None) == [Line("A", "S1", 2)]
    assert rules.settle_plan(held, [Line("A", "S1", 2)]) == [Line("A", "S1", 2)]
    assert rules.settle_plan(held, [Line("A", "S1", 3)]) == "A at S1: 3 requested, 2 still open"
    assert rules.settle_plan(held, [Line("C", "S1", 1)]) == "C at S1 is not part of this reservation"


def test_reservation_status() -> None:
    assert rules.reservation_status([OpenLine("A", "S", 2, 1, 0)]) == "open"
    assert rules.reservation_status([OpenLine("A", "S", 2, 2, 0)]) == "released"
    assert rules.reservation_status([OpenLine("A", "S", 2, 1, 1)]) == "consumed"


@given(st.lists(st.integers(1, 5), max_size=30), st.integers(0, 60))
def test_granted_prefix_never_exceeds_stock(quantities: list[int], units: int) -> None:
    n = rules.granted_prefix(quantities, units)
    assert sum(quantities[:n]) <= units
    assert n == len(quantities) or sum(quantities[: n + 1]) > units


def test_count_fresh_and_late() -> None:
    # fresh count: nothing moved since
    assert rules.decide_count(7, T, on_hand_now=10, moved_since_count=0) == CountDecision(-3)
    # counted 10 at 10:00; a sale of 1 after it; ledger held 12 then -> -2 on top of the sale
    assert rules.decide_count(10, T, on_hand_now=11, moved_since_count=-1) == CountDecision(-2)
    # same count again later: the first correction is effective at counted_at, so nothing more
    assert rules.decide_count(10, T, on_hand_now=9, moved_since_count=-1) == CountDecision(0)
    # a count that contradicts later movements
    assert rules.decide_count(0, T, on_hand_now=1, moved_since_count=-1) == CountDecision(
        0, "count_conflicts_with_later_movements"
    )


@given(st.integers(0, 1000), st.integers(0, 1000), st.integers(-500, 500))
def test_count_result_matches_count_plus_later_movements(counted: int, on_hand: int, moved: int) -> None:
    decision = rules.decide_count(counted, T, on_hand, moved)
    if decision.rejected is None:
        assert on_hand + decision.delta == counted + moved
        assert on_hand + decision.delta >= 0
    else:
        assert counted + moved < 0


def test_count_csv_and_batches() -> None:
    text = (
        "location,sku,on_hand,counted_at\nS1,A,3,2026-03-01T10:00:00+01:00\nS1,B,x,\nS2,A,1,\nS1,A,4,\n"
        ",A,1,\nS1,C,1,2026-03-01T10:00:00\n"
    )
    items = list(rules.read_count_csv(io.StringIO(text)))
    assert items[0] == CountRow(2, "S1", "A", 3, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert [type(i).__name__ for i in items] == [
        "CountRow",
        "CountRowError",
        "CountRow",
        "CountRow",
        "CountRowError",
        "CountRowError",
    ]
    rows = [i for i in items if isinstance(i, CountRow)]
    batches = rules.count_batches(rows)
    assert [(loc, [r.line for r in b]) for loc, b in batches] == [("S1", [2]), ("S1", [5]), ("S2", [4])]
    assert list(rules.read_count_csv(io.StringIO("sku,on_hand\n"))) == [
        rules.CountRowError(1, "missing column(s): location")
    ]
    assert [len(b) for _, b in rules.count_batches([CountRow(n, "S", f"K{n}", 1, None) for n in range(5)], size=2)] == [
        2,
        2,
        1,
    ]
