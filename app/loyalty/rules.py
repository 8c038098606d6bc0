"""Points arithmetic: pure functions on plain data, no I/O.

- Earning: points are floored once per order (`floor(paid * rate / unit)`), then
  attributed to lines by largest remainder in proportion to what each line paid, so the
  lines' points add up exactly to the order's points.
- Reversal: a line's points are taken back in proportion to the refunded amount,
  cumulatively (`f(refunded so far) - f(refunded before)`), so returning every unit of a
  line, in any number of returns, takes back exactly the points the line earned.
- Tiers: the highest tier whose spend threshold the rolling spend reaches.
- Spending and expiry draw from lots oldest-expiring first (FIFO).
"""

from __future__ import annotations

import calendar
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from app.core.money import allocate


@dataclass(frozen=True)
class Tier:
    name: str
    # Rolling paid spend (minor units) from which the tier applies.
    threshold_minor: int
    # Points per whole currency unit paid.
    points_per_unit: int


class InvalidTiers(ValueError):
    pass


def parse_tiers(text: str) -> tuple[Tier, ...]:
    """'basic:0:1,silver:50000:2,gold:150000:3' -> tiers, lowest first."""
    tiers: list[Tier] = []
    for part in text.split(","):
        fields = part.strip().split(":")
        if len(fields) != 3 or not fields[0]:
            raise InvalidTiers(f"tier {part!r} is not name:threshold_minor:points_per_unit")
        try:
            tiers.append(Tier(fields[0], int(fields[1]), int(fields[2])))
        except ValueError:
            raise InvalidTiers(f"tier {part!r} has a non-integer threshold or rate") from None
    if not tiers or tiers[0].threshold_minor != 0:
        raise InvalidTiers("the first tier must start at a spend of 0")
    for lower, higher in itertools.pairwise(tiers):
        if higher.threshold_minor <= lower.threshold_minor:
            raise InvalidTiers("tier thresholds must increase")
    if any(t.points_per_unit < 0 for t in tiers):
        raise InvalidTiers("earn rates cannot be negative")
    return tuple(tiers)


def tier_for_spend(spend_minor: int, tiers: Sequence[Tier]) -> Tier:
    reached = tiers[0]
    for tier in tiers:
        if spend_minor >= tier.threshold_minor:
            reached = tier
    return reached


def tier_named(name: str, tiers: Sequence[Tier]) -> Tier:
    """The tier called `name`; the lowest one if the configuration no longer has it."""
    return next((t for t in tiers if t.name == name), tiers[0])


def next_tier(spend_minor: int, tiers: Sequence[Tier]) -> tuple[Tier, int] | None:
    """The next tier up and the spend still missing to reach it; None at the top."""
    for tier in tiers:
        if tier.threshold_minor > spend_minor:
            return tier, tier.threshold_minor - spend_minor
    return None


@dataclass(frozen=True)
class LinePoints:
    line_id: str
    net_paid_minor: int
    # What counts for points and tier: net paid minus the part paid with points.
    earnable_minor: int
    points: int


def order_points(earnable_minor: int, points_per_unit: int, minor_per_unit: int) -> int:
    """Points of a whole order: floored once, never per line."""
    return earnable_minor * points_per_unit // minor_per_unit


def earn_for_lines(
    lines: Sequence[tuple[str, int]], *, points_paid_minor: int, points_per_unit: int, minor_per_unit: int
) -> list[LinePoints]:
    """Points of an order's lines. `lines` are (line id, net paid after discounts, without
    delivery); the part paid with points is first taken off the lines in proportion."""
    paid = [amount for _, amount in lines]
    if points_paid_minor > sum(paid):
        raise ValueError("more was paid with points than the lines cost")
    by_points = allocate(points_paid_minor, paid)
    earnable = [amount - excluded for amount, excluded in zip(paid, by_points, strict=True)]
    total = order_points(sum(earnable), points_per_unit, minor_per_unit)
    points = allocate(total, earnable)
    return [
        LinePoints(line_id, amount, earn, pts)
        for (line_id, amount), earn, pts in zip(lines, earnable, points, strict=True)
    ]


def handed_over(
    order_id: str, lines: Sequence[tuple[int, int, int, int]], *, points_paid_minor: int, order_total_minor: int
) -> tuple[list[tuple[str, int]], int]:
    """The earning lines of goods handed over: (`order id:line no`, net paid for the units
    handed over) — the ids the returns flow reverses with — and the part of that paid with
    points (the order's points tender in proportion to what these lines cost of the total)."""
    earned = [
        (f"{order_id}:{line_no}", line_total * min(units, ordered) // ordered if ordered else 0)
        for line_no, ordered, line_total, units in lines
        if units > 0
    ]
    paid = sum(amount for _, amount in earned)
    by_points = points_paid_minor * paid // order_total_minor if order_total_minor > 0 else 0
    return earned, min(by_points, paid)


def points_to_reverse(line_points: int, net_paid_minor: int, refunded_before: int, refunded_now: int) -> int:
    """Points a refund of `refunded_now` takes back from a line that earned `line_points`
    on `net_paid_minor`, after `refunded_before` was already refunded."""
    if net_paid_minor <= 0:
        # Nothing was paid in money for the line: its (zero) points go with the first refund.
        return line_points if refunded_before == 0 and refunded_now > 0 else 0

    def taken_back(refunded: int) -> int:
        return line_points * min(refunded, net_paid_minor) // net_paid_minor

    return taken_back(refunded_before + refunded_now) - taken_back(refunded_before)


def draw_fifo(lots: Sequence[tuple[int, int]], points: int) -> list[tuple[int, int]]:
    """(lot id, points taken) drawing `points` from `lots` = [(lot id, remaining)] in the
    order given (oldest expiry first); stops when `points` are covered or lots run out."""
    taken: list[tuple[int, int]] = []
    left = points
    for lot_id, remaining in lots:
        if left <= 0:
            break
        take = min(remaining, left)
        if take > 0:
            taken.append((lot_id, take))
            left -= take
    return taken


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later; the month's last day when it is shorter (31 Jan + 1 -> 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def points_value_minor(points: int, point_value_minor: int) -> int:
    return points * point_value_minor


def points_to_cover(amount_minor: int, point_value_minor: int) -> int:
    """The fewest points worth at least `amount_minor`."""
    return -(-amount_minor // point_value_minor)


def fingerprint(payload: Any) -> bytes:
    """A stable hash of a request's meaning, to tell a repeat from a different request."""
    return hashlib.sha256(msgspec.json.encode(payload, order="sorted")).digest()
