"""Money and the arithmetic every domain shares: currency exponents, half-up rounding and
largest-remainder allocation (pricing, returns and loyalty all split and round with these)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.core.money import (
    CurrencyMismatch,
    Money,
    allocate,
    exponent,
    format_amount,
    minor_per_unit,
    parse_amount,
    round_half_up,
)


def test_exponents_follow_iso_4217() -> None:
    assert exponent("EUR") == 2
    assert exponent("JPY") == 0
    assert exponent("BHD") == 3
    with pytest.raises(ValueError):
        exponent("XXX")
    assert [minor_per_unit(c) for c in ("EUR", "JPY", "BHD")] == [100, 1, 1000]


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(1999, "EUR", "19.99"), (5, "EUR", "0.05"), (-5, "EUR", "-0.05"), (1500, "JPY", "1500"), (1005, "BHD", "1.005")],
)
def test_format_amount(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text
    assert parse_amount(text, currency) == amount


def test_parse_refuses_extra_decimals() -> None:
    with pytest.raises(ValueError):
        parse_amount("1.999", "EUR")
    with pytest.raises(ValueError):
        parse_amount("10.5", "JPY")


def test_adding_different_currencies_fails() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money(100, "EUR") + Money(100, "USD")
    assert Money(100, "EUR") + Money(250, "EUR") == Money(350, "EUR")
    assert Money(199, "EUR").times(3) == Money(597, "EUR")


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(5, 2, 3), (4, 2, 2), (7, 3, 2), (-5, 2, -3), (1, 3, 0), (5, 10, 1), (4, 10, 0), (15, 10, 2), (9801, 100, 98)],
)
def test_round_half_up(num: int, den: int, expected: int) -> None:
    assert round_half_up(num, den) == expected


def test_round_half_up_refuses_a_non_positive_denominator() -> None:
    with pytest.raises(ValueError):
        round_half_up(1, 0)
    with pytest.raises(ValueError):
        round_half_up(1, -2)


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**9))
def test_round_half_up_is_decimal_half_up(num: int, den: int) -> None:
    exact = (Decimal(num) / Decimal(den)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert round_half_up(num, den) == int(exact)
    assert abs(Fraction(num, den) - round_half_up(num, den)) <= Fraction(1, 2)


@given(st.integers(0, 10**15), st.integers(1, 10**9))
def test_round_half_up_matches_the_price_engines_former_formula(num: int, den: int) -> None:
    # pricing and returns rounded with (2n + d) // 2d on non-negative numerators: same results.
    assert round_half_up(num, den) == (2 * num + den) // (2 * den)


# ---- allocation by largest remainder ----------------------------------------------------


def test_allocation_of_10_00_across_0_01_3_33_96_66() -> None:
    # exact shares 0.1, 33.3, 966.6 -> floors 0, 33, 966 (999) -> the leftover cent goes to .6
    assert allocate(1000, [1, 333, 9666]) == [0, 33, 967]


def test_allocation_ties_go_to_the_earlier_weight() -> None:
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(7, [0, 5, 2]) == [0, 5, 2]
    assert allocate(0, [0, 0]) == [0, 0]


def test_strict_allocation_refuses_what_cannot_be_split() -> None:
    with pytest.raises(ValueError):
        allocate(1, [0, 0])
    with pytest.raises(ValueError):
        allocate(-1, [1])
    with pytest.raises(ValueError):
        allocate(1, [2, -1])


def test_lenient_allocation_keeps_the_price_engines_edge_cases() -> None:
    # strict=False (pricing, returns): a total over zero weights gives zeros, signs unchecked.
    assert allocate(5, [0, 0], strict=False) == [0, 0]
    assert allocate(-3, [1, 2], strict=False) == [-1, -2]
    assert allocate(0, [], strict=False) == []


weights_st = st.lists(st.integers(0, 10**7), min_size=1, max_size=20)


@given(total=st.integers(0, 10**9), weights=weights_st)
def test_allocation_sums_exactly_and_each_part_is_within_one_unit(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        total = 0
    parts = allocate(total, weights)
    assert sum(parts) == total
    whole = sum(weights) or 1
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, whole)
        assert exact - 1 < part < exact + 1
        assert part in (int(exact), -(-exact.numerator // exact.denominator))  # floor or ceiling


@given(data=st.data(), weights=weights_st)
def test_no_part_exceeds_its_weight_when_the_total_fits(data: st.DataObject, weights: list[int]) -> None:
    total = data.draw(st.integers(0, sum(weights)))
    parts = allocate(total, weights)
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))


@given(total=st.integers(0, 10**6), weights=weights_st)
def test_leftover_units_go_to_the_largest_remainders_then_the_earlier(total: int, weights: list[int]) -> None:
    whole = sum(weights)
    assume(whole > 0)
    parts = allocate(total, weights)
    bumped = [i for i, (part, w) in enumerate(zip(parts, weights, strict=True)) if part > total * w // whole]
    kept = [i for i in range(len(weights)) if i not in bumped]
    remainder = [total * w % whole for w in weights]
    # Every unit that got a leftover ranks before every one that did not: larger remainder, or equal and earlier.
    for i in bumped:
        for j in kept:
            assert (remainder[i], -i) > (remainder[j], -j)


@given(total=st.integers(0, 10**9), weights=weights_st)
def test_strict_and_lenient_agree_where_both_accept(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        total = 0
    assert allocate(total, weights) == allocate(total, weights, strict=False)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["EUR", "JPY", "BHD"]))
def test_format_then_parse_is_identity(amount: int, currency: str) -> None:
    assert parse_amount(format_amount(amount, currency), currency) == amount


# The three copies this replaced, verbatim: the one function gives each caller its former results.


def _former_pricing_and_returns_allocate(total: int, weights: list[int]) -> list[int]:
    whole = sum(weights)
    if whole == 0 or total == 0:
        return [0] * len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for i, weight in enumerate(weights):
        share, remainder = divmod(total * weight, whole)
        parts.append(share)
        remainders.append((-remainder, i))
    for _, i in sorted(remainders)[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _former_loyalty_allocate(total: int, weights: list[int]) -> list[int]:
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes non-negative amounts")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot allocate a positive total over zero weights")
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares


any_weights = st.lists(st.integers(-50, 10**6), max_size=12)


@given(total=st.integers(-(10**6), 10**9), weights=any_weights)
def test_lenient_allocation_is_the_former_pricing_and_returns_one(total: int, weights: list[int]) -> None:
    assert allocate(total, weights, strict=False) == _former_pricing_and_returns_allocate(total, weights)


@given(total=st.integers(-10, 10**9), weights=any_weights)
def test_strict_allocation_is_the_former_loyalty_one(total: int, weights: list[int]) -> None:
    try:
        expected = _former_loyalty_allocate(total, weights)
    except ValueError:
        with pytest.raises(ValueError):
            allocate(total, weights)
        return
    assert allocate(total, weights) == expected
