"""Points arithmetic on plain data: floors, largest remainders, tiers, FIFO, months."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.loyalty import rules
from app.loyalty.rules import Tier

TIERS = rules.parse_tiers("basic:0:1,silver:50000:2,gold:150000:3")

amounts = st.integers(min_value=0, max_value=10_000_000)
line_lists = st.lists(amounts, min_size=1, max_size=12)


def _lines(paid: list[int]) -> list[tuple[str, int]]:
    return [(f"L{i}", amount) for i, amount in enumerate(paid)]


# ---- tiers ----------------------------------------------------------------------------------


def test_parse_tiers() -> None:
    expected = (Tier("basic", 0, 1), Tier("silver", 50000, 2), Tier("gold", 150000, 3))
    assert expected == TIERS


@pytest.mark.parametrize(
    "text",
    ["", "basic:10:1", "basic:0:1,silver:0:2", "basic:0", "basic:0:x", "basic:0:1,silver:500:-1", ":0:1"],
)
def test_parse_tiers_refuses_nonsense(text: str) -> None:
    with pytest.raises(rules.InvalidTiers):
        rules.parse_tiers(text)


@pytest.mark.parametrize(
    ("spend", "tier", "upcoming"),
    [
        (0, "basic", ("silver", 50000)),
        (49999, "basic", ("silver", 1)),
        (50000, "silver", ("gold", 100000)),
        (149999, "silver", ("gold", 1)),
        (150000, "gold", None),
        (10**9, "gold", None),
    ],
)
def test_tier_and_progress(spend: int, tier: str, upcoming: tuple[str, int] | None) -> None:
    assert rules.tier_for_spend(spend, TIERS).name == tier
    found = rules.next_tier(spend, TIERS)
    assert (None if found is None else (found[0].name, found[1])) == upcoming


def test_unknown_tier_name_falls_back_to_the_lowest() -> None:
    assert rules.tier_named("platinum", TIERS).name == "basic"
    assert rules.tier_named("gold", TIERS).points_per_unit == 3


# ---- earning --------------------------------------------------------------------------------


def test_points_are_floored_once_per_order_not_per_line() -> None:
    # Three lines of 9.99 at 1 point per euro: per-line floors would give 27, the order 29.
    lines = rules.earn_for_lines(_lines([999, 999, 999]), points_paid_minor=0, points_per_unit=1, minor_per_unit=100)
    assert [line.points for line in lines] == [10, 10, 9]
    assert sum(line.points for line in lines) == 29


def test_points_paid_with_points_earn_nothing() -> None:
    lines = rules.earn_for_lines(_lines([3000, 1000]), points_paid_minor=2000, points_per_unit=2, minor_per_unit=100)
    assert [(line.earnable_minor, line.points) for line in lines] == [(1500, 30), (500, 10)]


def test_paying_more_with_points_than_the_lines_cost_is_refused() -> None:
    with pytest.raises(ValueError):
        rules.earn_for_lines(_lines([100]), points_paid_minor=101, points_per_unit=1, minor_per_unit=100)


def test_zero_decimal_currency() -> None:
    lines = rules.earn_for_lines(_lines([1500]), points_paid_minor=0, points_per_unit=1, minor_per_unit=1)
    assert lines[0].points == 1500


@given(
    paid=line_lists,
    rate=st.integers(0, 10),
    exponent=st.sampled_from([0, 2, 3]),
    points_share=st.fractions(0, 1),
)
def test_line_points_add_up_to_the_order_floor(
    paid: list[int], rate: int, exponent: int, points_share: Fraction
) -> None:
    points_paid = int(sum(paid) * points_share)
    unit = 10**exponent
    lines = rules.earn_for_lines(_lines(paid), points_paid_minor=points_paid, points_per_unit=rate, minor_per_unit=unit)
    earnable = sum(line.earnable_minor for line in lines)
    assert earnable == sum(paid) - points_paid
    assert all(0 <= line.earnable_minor <= line.net_paid_minor for line in lines)
    assert sum(line.points for line in lines) == earnable * rate // unit
    for line in lines:
        exact = Fraction(line.earnable_minor * rate, unit)
        assert line.points <= exact + 1


# ---- reversal -------------------------------------------------------------------------------


def test_reversing_units_one_by_one_takes_back_exactly_the_line() -> None:
    # A line of 3 units paid 30.00 earned 10 points; each unit returned separately.
    taken = [
        rules.points_to_reverse(10, 3000, 0, 1000),
        rules.points_to_reverse(10, 3000, 1000, 1000),
        rules.points_to_reverse(10, 3000, 2000, 1000),
    ]
    assert taken == [3, 3, 4]


def test_refunding_more_than_was_paid_takes_back_no_more() -> None:
    assert rules.points_to_reverse(10, 3000, 0, 5000) == 10
    assert rules.points_to_reverse(10, 3000, 3000, 100) == 0


def test_line_paid_entirely_with_points() -> None:
    assert rules.points_to_reverse(0, 0, 0, 100) == 0


@given(
    points=st.integers(0, 10**6),
    paid=st.integers(1, 10**7),
    cuts=st.lists(st.integers(1, 10**6), min_size=1, max_size=10),
)
def test_partial_reversals_never_exceed_and_a_full_refund_completes(points: int, paid: int, cuts: list[int]) -> None:
    refunded = 0
    total = 0
    for cut in cuts:
        step = rules.points_to_reverse(points, paid, refunded, cut)
        assert step >= 0
        total += step
        refunded += cut
    assert total <= points
    total += rules.points_to_reverse(points, paid, refunded, paid)
    assert total == points


# ---- FIFO -----------------------------------------------------------------------------------


def test_draw_fifo_takes_oldest_first() -> None:
    assert rules.draw_fifo([(1, 5), (2, 0), (3, 10)], 8) == [(1, 5), (3, 3)]
    assert rules.draw_fifo([(1, 5)], 9) == [(1, 5)]
    assert rules.draw_fifo([(1, 5)], 0) == []


@given(
    lots=st.lists(st.integers(0, 1000), max_size=15),
    points=st.integers(0, 20000),
)
def test_draw_fifo_covers_what_it_can_from_a_prefix(lots: list[int], points: int) -> None:
    numbered = list(enumerate(lots))
    draws = rules.draw_fifo(numbered, points)
    assert sum(p for _, p in draws) == min(points, sum(lots))
    remaining = dict(numbered)
    for lot_id, taken in draws:
        assert 0 < taken <= remaining[lot_id]
    # Only the last lot drawn may be left partly full: every earlier one is emptied.
    for lot_id, taken in draws[:-1]:
        assert taken == remaining[lot_id]
    if draws:
        last = draws[-1][0]
        assert all(remaining[i] == 0 for i in range(last) if i not in dict(draws))


# ---- time and money -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2025, 1, 31, 10, tzinfo=UTC), 1, datetime(2025, 2, 28, 10, tzinfo=UTC)),
        (datetime(2024, 1, 31, 10, tzinfo=UTC), 1, datetime(2024, 2, 29, 10, tzinfo=UTC)),
        (datetime(2025, 11, 15, tzinfo=UTC), 24, datetime(2027, 11, 15, tzinfo=UTC)),
        (datetime(2025, 12, 1, tzinfo=UTC), 1, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_add_months(start: datetime, months: int, end: datetime) -> None:
    assert rules.add_months(start, months) == end


def test_points_value_and_cover() -> None:
    assert rules.points_value_minor(250, 1) == 250
    assert rules.points_to_cover(1001, 10) == 101
    assert rules.points_to_cover(1000, 10) == 100


def test_fingerprint_is_order_independent_for_keys_and_tells_payloads_apart() -> None:
    assert rules.fingerprint({"a": 1, "b": 2}) == rules.fingerprint({"b": 2, "a": 1})
    assert rules.fingerprint([["L1", 100]]) != rules.fingerprint([["L1", 101]])


# ---- goods handed over ----------------------------------------------------------------------


def test_handed_over_lines_and_their_share_of_the_points_tender() -> None:
    # Order: line 1 = 3 units for 30.00, line 2 = 1 unit for 20.00, delivery 5.00; total 55.00,
    # 11.00 of it paid with points. This fulfillment order handed over 2 units of line 1.
    lines, by_points = rules.handed_over(
        "o1", [(1, 3, 3000, 2), (2, 1, 2000, 0)], points_paid_minor=1100, order_total_minor=5500
    )
    assert lines == [("o1:1", 2000)]
    assert by_points == 400


def test_handed_over_never_counts_more_than_was_ordered() -> None:
    lines, by_points = rules.handed_over("o2", [(1, 2, 999, 5)], points_paid_minor=0, order_total_minor=999)
    assert (lines, by_points) == ([("o2:1", 999)], 0)
    assert rules.handed_over("o3", [(1, 1, 500, 1)], points_paid_minor=500, order_total_minor=500) == (
        [("o3:1", 500)],
        500,
    )
