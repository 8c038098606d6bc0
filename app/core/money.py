"""Money: an integer count of minor units plus an ISO 4217 currency code. Never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import msgspec

# ISO 4217 minor-unit exponents of the currencies we accept. Unknown codes are refused
# rather than guessed: a wrong exponent would misprice by 10x or 100x.
EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "MXN": 2,
    "BRL": 2,
    "CNY": 2,
    "INR": 2,
    "ZAR": 2,
    "AED": 2,
    "SGD": 2,
    "HKD": 2,
    "TRY": 2,
    "RON": 2,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "VND": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}

CurrencyCode = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", examples=["EUR"])]
MinorUnits = Annotated[int, msgspec.Meta(ge=0, le=10**15, description="amount in minor units")]

# Every amount the API returns must fit a JavaScript number exactly (2^53 - 1). The inputs a total
# is computed from are bounded so that none can exceed it: the largest quote (500 lines of
# MAX_SALE_QUANTITY units at MAX_UNIT_PRICE, plus a delivery fee) is 5.000001e15 < 9.007e15.
SAFE_INTEGER = 2**53 - 1
MAX_UNIT_PRICE = 10**9
UnitPrice = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_UNIT_PRICE, description="minor units per unit (at most 10^9, so totals stay exact)")
]


class Money(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    amount: Annotated[int, msgspec.Meta(ge=-(10**15), le=10**15)]
    currency: CurrencyCode

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def __str__(self) -> str:
        return f"{format_amount(self.amount, self.currency)} {self.currency}"


class CurrencyMismatch(ValueError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}")
        self.left = left
        self.right = right


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def is_supported(currency: str) -> bool:
    return currency in EXPONENTS


def format_amount(amount: int, currency: str) -> str:
    exp = exponent(currency)
    if exp == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def parse_amount(text: str, currency: str) -> int:
    """'19.99' EUR -> 1999. Refuses more decimals than the currency has."""
    value = Decimal(text.strip())
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more decimals than {currency} allows")
    return int(scaled)


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded HALF_UP (away from zero on .5), exactly, without floats."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
