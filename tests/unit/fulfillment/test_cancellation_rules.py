"""Which fulfillment order lines give up a customer's cancelled units, and the counter's
identity check that stands in for a pickup code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.fulfillment import rules
from app.fulfillment.rules import OpenUnits


def test_least_advanced_then_smallest_share_gives_up_first() -> None:
    shares = [
        OpenUnits("A1B2-1", "1", "assigned", 1),
        OpenUnits("A1B2-2", "1", "created", 2),
        OpenUnits("A1B2-3", "1", "created", 1),
        OpenUnits("A1B2-4", "2", "accepted", 3),
    ]
    plan = rules.units_to_cancel(shares, {"1": 2, "2": 1})
    assert [(s.fulfillment_order, s.line_id, n) for s, n in plan] == [
        ("A1B2-3", "1", 1),  # created and the smallest: a whole parcel goes away
        ("A1B2-2", "1", 1),
        ("A1B2-4", "2", 1),
    ]


def test_more_than_is_not_picked_yet_is_refused() -> None:
    shares = [OpenUnits("X-1", "1", "created", 2)]
    with pytest.raises(rules.NotCancellable) as refused:
        rules.units_to_cancel(shares, {"1": 3})
    assert (refused.value.line_id, refused.value.wanted, refused.value.open_units) == ("1", 3, 2)
    with pytest.raises(rules.NotCancellable):
        rules.units_to_cancel([], {"7": 1})


@given(
    st.lists(st.tuples(st.sampled_from(sorted(rules.CANCELLABLE)), st.integers(1, 5)), min_size=1, max_size=6),
    st.integers(0, 40),
)
def test_exactly_the_wanted_units_within_each_share(shares_in: list[tuple[str, int]], wanted: int) -> None:
    shares = [OpenUnits(f"N-{i}", "1", status, units) for i, (status, units) in enumerate(shares_in)]
    total = sum(s.units for s in shares)
    if wanted > total:
        with pytest.raises(rules.NotCancellable):
            rules.units_to_cancel(shares, {"1": wanted})
        return
    plan = rules.units_to_cancel(shares, {"1": wanted})
    assert sum(n for _, n in plan) == wanted
    assert all(0 < n <= s.units for s, n in plan)
    assert len({s.fulfillment_order for s, _ in plan}) == len(plan)


def test_counter_identity_shares_the_code_counter() -> None:
    assert rules.check_pickup_identity(True, attempts=4, max_attempts=5, used=False) == "ok"
    assert rules.check_pickup_identity(False, attempts=4, max_attempts=5, used=False) == "wrong"
    assert rules.check_pickup_identity(True, attempts=5, max_attempts=5, used=False) == "locked"
    assert rules.check_pickup_identity(True, attempts=0, max_attempts=5, used=True) == "used"
