"""Money: an integer count of minor units plus an ISO 4217 currency code. Never floats.

The arithmetic every domain shares lives here, pure and integer-only, so pricing, returns
and loyalty round and split the same way:
- `exponent` / `minor_per_unit`: ISO 4217 minor units of a currency (EUR 2, JPY 0, BHD 3).
- `round_half_up(n, d)`: n / d rounded to the nearest integer, halves away from zero.
- `allocate(total, weights)`: `total` split in proportion to `weights` by largest remainder;
  each part is the floor or the ceiling of its exact share, the leftover units go one each to
  the largest remainders, ties to the EARLIER weight, and the parts always sum to `total`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
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


def minor_per_unit(currency: str) -> int:
    """Minor units in one unit of `currency` (100 cents in a euro, 1 yen in a yen)."""
    return int(10 ** exponent(currency))


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
    """numerator / denominator rounded HALF_UP (halves away from zero), exactly: integers only,
    no Decimal, since the price engine rounds once per line and promotion on the hot path."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    rounded = (2 * abs(numerator) + denominator) // (2 * denominator)
    return rounded if numerator >= 0 else -rounded


def allocate(total: int, weights: Sequence[int], *, strict: bool = True) -> list[int]:
    """Split `total` minor units in proportion to `weights` by the largest-remainder rule
    (ties to the earlier weight); the parts sum to `total`, and no part exceeds its weight
    when 0 <= total <= sum(weights).

    `strict` (the default, loyalty's points) refuses what cannot be split honestly: a negative
    total or weight, and a positive total over weights that sum to zero (ValueError).
    `strict=False` is the price engine's and returns' contract, kept exactly: no sign checks,
    and a total over zero weights gives all zeros (their callers never pass more than the
    weights add up to, so nothing is lost there)."""
    whole = sum(weights)
    if strict:
        if total < 0 or any(weight < 0 for weight in weights):
            raise ValueError("allocate takes non-negative amounts")
        if whole == 0 and total:
            raise ValueError("cannot allocate a positive total over zero weights")
    if whole == 0 or total == 0:
        return [0] * len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, whole)
        parts.append(share)
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: total - sum(parts)]:
        parts[index] += 1
    return parts
