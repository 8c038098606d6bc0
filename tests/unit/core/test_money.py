from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.money import CurrencyMismatch, Money, exponent, format_amount, parse_amount, round_half_up


def test_exponents_follow_iso_4217() -> None:
    assert exponent("EUR") == 2
    assert exponent("JPY") == 0
    assert exponent("BHD") == 3
    with pytest.raises(ValueError):
        exponent("XXX")


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


@pytest.mark.parametrize(("num", "den", "expected"), [(5, 2, 3), (4, 2, 2), (7, 3, 2), (-5, 2, -3), (1, 3, 0)])
def test_round_half_up(num: int, den: int, expected: int) -> None:
    assert round_half_up(num, den) == expected


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["EUR", "JPY", "BHD"]))
def test_format_then_parse_is_identity(amount: int, currency: str) -> None:
    assert parse_amount(format_amount(amount, currency), currency) == amount
