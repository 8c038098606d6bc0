"""The channel dashboard's figures as msgspec structs (what `/v1/reports/channels` returns).

Money is integer minor units in the retailer's one currency (`currency`); ratios are
fractions (0.25 = 25 %) to 4 decimals, null when there is nothing to divide by;
durations are seconds. See app/reports/service.py for what each figure counts.
"""

from __future__ import annotations

from datetime import date, datetime

from app.core.schema import Out


class ChannelFigures(Out):
    channel: str  # one of rules.CHANNELS, or "all" for the totals
    orders: int
    cancelled_orders: int
    revenue: int
    average_order_value: int | None
    units: int
    units_per_order: float | None
    revenue_share: float | None


class FulfilmentMethodFigures(Out):
    method: str  # one of rules.METHODS
    orders: int
    lines: int
    units: int
    revenue: int
    revenue_share: float | None


class ReturnCell(Out):
    sale_channel: str
    return_channel: str
    returns: int
    units: int
    refunded: int


class PickupFigures(Out):
    outcomes: int
    collected: int
    no_shows: int
    no_show_rate: float | None


class RejectionReason(Out):
    reason: str
    rejections: int


class ShipFromStoreFigures(Out):
    fulfillment_orders: int
    rejected: int
    rejection_rate: float | None


class SplitShipmentFigures(Out):
    delivery_orders: int
    split_orders: int
    split_rate: float | None


class DurationFigures(Out):
    measure: str  # "order_to_ship" | "order_to_ready"
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


class LoyaltyFigures(Out):
    member_orders: int
    member_revenue: int
    member_revenue_share: float | None
    points_issued: int
    points_redeemed: int


class SkuUnits(Out):
    sku: str
    lines: int
    units: int


class EndlessAisleFigures(Out):
    kiosk_orders: int
    endless_aisle_orders: int
    endless_aisle_share: float | None
    lines: int
    units: int
    revenue: int


class DailyChannelFigures(Out):
    day: date
    channel: str
    orders: int
    revenue: int


class ChannelReport(Out):
    start: datetime
    end: datetime
    locations: list[str] | None
    currency: str
    totals: ChannelFigures
    by_channel: list[ChannelFigures]
    fulfilment_mix: list[FulfilmentMethodFigures]
    returns_matrix: list[ReturnCell]
    pickup: PickupFigures
    ship_from_store: ShipFromStoreFigures
    ship_from_store_reasons: list[RejectionReason]
    split_shipments: SplitShipmentFigures
    lead_times: list[DurationFigures]
    loyalty: LoyaltyFigures
    kiosk_endless_aisle: EndlessAisleFigures
    endless_aisle_skus: list[SkuUnits]
    daily: list[DailyChannelFigures]


# Tables a CSV export can name (each a list, or one struct as one row).
TABLES = (
    "totals",
    "by_channel",
    "fulfilment_mix",
    "returns_matrix",
    "pickup",
    "ship_from_store",
    "ship_from_store_reasons",
    "split_shipments",
    "lead_times",
    "loyalty",
    "kiosk_endless_aisle",
    "endless_aisle_skus",
    "daily",
)
