"""What the loyalty API takes and returns, and what its service hands to other domains."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from app.core.money import Money
from app.core.pagination import Page
from app.core.schema import Body, Out

CardNumber = Annotated[str, Meta(pattern="^[0-9]{13}$", examples=["2900000000015"])]
Points = Annotated[int, Meta(ge=-1_000_000_000, le=1_000_000_000)]


class AdjustmentCreate(Body):
    """A manual correction by staff: positive points are available at once (and expire like
    earned points); negative points are taken from available points, oldest first."""

    points: Annotated[int, Meta(ge=-10_000_000, le=10_000_000, description="not 0", examples=[500])]
    reason: Annotated[str, Meta(min_length=1, max_length=200, examples=["goodwill: late delivery"])]


class LedgerEntryOut(Out):
    id: int
    kind: Annotated[str, Meta(examples=["earn"])]
    points: int
    reference: str
    channel: str | None
    note: str | None
    occurred_at: datetime


class ExpiryOut(Out):
    expires_on: date
    points: int


class TierProgress(Out):
    next_tier: str
    # Paid spend still missing in the rolling window to reach `next_tier`.
    spend_missing: Money


class CardOut(Out):
    card_number: str
    customer_id: uuid.UUID
    available: int
    pending: int
    available_value: Money
    tier: str
    # Points per whole currency unit paid, at the current tier.
    earn_rate: int
    # Paid spend in the rolling tier window (as of the last earn or reversal).
    rolling_spend: Money
    progress: TierProgress | None
    point_value: Money
    upcoming_expiries: list[ExpiryOut]
    ledger: Page[LedgerEntryOut]


class AdjustmentOut(Out):
    card_number: str
    entry: LedgerEntryOut
    available: int
    pending: int


# ---- results for other domains --------------------------------------------------------------


class Redemption(msgspec.Struct, frozen=True, kw_only=True):
    card_number: str
    points: int
    value: Money
    available_after: int


class Earning(msgspec.Struct, frozen=True, kw_only=True):
    card_number: str
    points: int
    # Points of each order line (line id -> points); reversals take back from these.
    lines: dict[str, int]
    tier: str
    available_at: datetime
    expires_at: datetime
    replayed: bool = False


class ReversalResult(msgspec.Struct, frozen=True, kw_only=True):
    points_reversed: int
    # Points that had been spent already: their value is deducted from the refund.
    shortfall_points: int
    shortfall_value: Money
    # Lines whose sale has not earned yet: reversed when it arrives.
    waiting_lines: list[str]
    replayed: bool = False


class DeliveredOrder(msgspec.Struct, frozen=True, kw_only=True):
    """What orders and fulfillment know about goods that reached the customer (delivered or
    collected), as the earn-points flow (app/flows/earn_points.py) hands it to loyalty."""

    order_id: str
    customer_id: uuid.UUID | None
    channel: str | None
    currency: str
    # What the whole order cost (lines and delivery) and how much of it was paid with points.
    order_total_minor: int
    points_paid_minor: int
    # (order line no, units ordered, line total after discounts, units handed over now)
    lines: list[tuple[int, int, int, int]]


class PendingPointsOut(Out):
    """Points earned and still pending (the return window): when they become spendable."""

    points: int
    available_at: datetime
    order_id: str | None
