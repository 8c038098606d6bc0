"""The channel dashboard: "which channel works, and how do the channels work together".

Public functions (the console and the API call only these):
- `channel_report(session, *, start, end, locations=None) -> ChannelReport`
- `report_table(report, table) -> (header, rows)`: one table of a report, for CSV.

Read-only: every figure is SQL over the orders, fulfilment, returns and loyalty tables
(`repository.py`); nothing is written. The retailer sells in one currency
(`OMS_CURRENCY`), so money figures are plain sums of integer minor units in it.

## The period and the locations
- The period is half-open, [start, end), UTC. The API's `from`/`to` are dates (a `to` date
  includes its whole day) or ISO 8601 datetimes with an offset; at most 400 days.
- Which timestamp puts a record in the period is given per figure below.
- `locations` (optional; none = the whole retailer): an **order is at the locations** when
  it was placed at one of them (the store of the kiosk/POS key), is to be collected at one,
  or has a line sourced from one at placement. Fulfillment orders are at the location that
  works them; a return is at the locations when it came back at one of them or its order
  was placed or collected there. Points issued/redeemed are retailer-wide (the ledger does
  not record a location).

## Figures
- **orders** (per channel, `orders.channel`, i.e. the channel of the API key that placed it):
  orders placed in the period (`placed_at`) and not cancelled as a whole (`status <>
  'cancelled'`); `cancelled_orders` counts the others. Partial cancellations do not make an
  order disappear.
- **revenue**: the sum of `orders.total` of those orders: what the customer agreed to pay
  at placement, tax included, after every discount (gross demand). Returns are not
  subtracted here: they are in the return matrix with what was refunded.
  `revenue_share`: the channel's revenue / all channels' revenue.
- **average order value**: revenue / orders, half-up to the minor unit.
- **units per order**: ordered units (sum of `order_lines.quantity`) / orders, 2 decimals.
- **fulfilment mix**: each order line of those orders has one method, as sourced at
  placement (`order_lines.location_code`): a pickup order's line sourced at the pickup
  store is **bopis**, sourced elsewhere **ship_to_store** (sent to the store to be
  collected); a delivery order's line sourced at a store is **ship_from_store**, at a
  warehouse **delivery**. Per method: orders having at least one such line (an order with
  two methods counts in both), lines, units, revenue (sum of `line_total`, what was paid for
  the lines after discounts) and its share of all lines' revenue. Later re-sourcing (a store
  rejecting) is not re-attributed: that is what the ship-from-store rejection rate shows.
- **returns matrix**: returns opened in the period (`returns.created_at`), not rejected,
  by channel of sale (`orders.channel`) × channel of return (`returns.channel`, the key
  that opened the return; `back_office` for an admin/logistics key without a channel):
  returns, units (sum of `return_lines.quantity`) and refunded (sum of
  `returns.refund_total`, 0 until refunded). Off-diagonal cells are the cross-channel
  returns (bought online, returned at a till).
- **pickup no-show rate**: pickup fulfillment orders that reached an outcome in the
  period (`closed_at`): `no_shows` expired uncollected, `collected` handed over;
  rate = no_shows / (collected + no_shows).
- **ship-from-store rejection rate**: delivery fulfillment orders at a store (kind
  `store`) created in the period (`created_at`); rate = rejected (`reject_reason` set,
  including `timeout`: the store did not accept in time) / all of them; reasons counted.
- **split-shipment rate**: not-cancelled delivery orders of the period whose lines were
  sourced from more than one location at placement (more than one parcel) / all
  not-cancelled delivery orders of the period.
- **order-to-ship / order-to-ready** (p50, p90, seconds; `percentile_cont`): for orders of
  the period, each delivery fulfillment order shipped (`ship` event's time −
  `orders.placed_at`); each pickup fulfillment order made ready (`ready_at − placed_at`).
  Ship-to-store legs are not counted as shipments to the customer.
- **loyalty**: every customer record carries a loyalty card (`customers.card_number` is
  NOT NULL), so a **member's order** is an order placed for an identified customer;
  anonymous orders are not. `member_revenue` / revenue is the members' share.
  `points_issued`: points earned (ledger rows of kind `earn`, `occurred_at` in the period);
  `points_redeemed`: points spent as a tender (kind `redeem`), as a positive number.
  Restorations, reversals, expiries and adjustments are not counted in either.
- **kiosk endless aisle**: a kiosk order line is an *endless-aisle line* when it was not
  sourced from the kiosk's own store (`order_lines.location_code <> orders.store_code`):
  the store could not give that SKU (that size) from its available stock, so it is shipped
  home or sent to the store from elsewhere. An *endless-aisle order* is a not-cancelled
  kiosk order with at least one such line; its share is of not-cancelled kiosk orders;
  lines, units and revenue (`line_total`) are those of the endless-aisle lines; the SKUs
  the store lacked most are in `endless_aisle_skus` (top 20 by units).
- **daily**: per UTC day of `placed_at` and channel, orders and revenue as above (for the
  line charts); days and channels without orders are absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import get_settings
from app.reports import repository, rules
from app.reports.schemas import (
    CHANNELS,
    METHODS,
    TABLES,
    ChannelFigures,
    ChannelReport,
    DailyChannelFigures,
    DurationFigures,
    EndlessAisleFigures,
    FulfilmentMethodFigures,
    LoyaltyFigures,
    PickupFigures,
    RejectionReason,
    ReturnCell,
    ShipFromStoreFigures,
    SkuUnits,
    SplitShipmentFigures,
)

TOP_SKUS = 20
# Summed over days and channels from the per-day rows.
_SUMMED = (
    "orders",
    "cancelled_orders",
    "revenue",
    "units",
    "member_orders",
    "member_revenue",
    "delivery_orders",
    "split_orders",
    "ea_orders",
    "ea_lines",
    "ea_units",
    "ea_revenue",
    *(f"{m}_{k}" for m in METHODS for k in ("orders", "lines", "units", "revenue")),
)


async def channel_report(
    session: AsyncSession, *, start: datetime, end: datetime, locations: Sequence[str] | None = None
) -> ChannelReport:
    rules.validate_period(start, end)
    locs = sorted(set(locations)) if locations else None
    days = await repository.orders_by_day(session, start, end, locs)
    per_channel = {c: dict.fromkeys(_SUMMED, 0) for c in CHANNELS}
    for row in days:
        sums = per_channel.setdefault(row["channel"], dict.fromkeys(_SUMMED, 0))
        for key in _SUMMED:
            sums[key] += int(row[key])
    total = {key: sum(s[key] for s in per_channel.values()) for key in _SUMMED}
    return ChannelReport(
        start=start,
        end=end,
        locations=locs,
        currency=get_settings().currency,
        totals=_channel("all", total, total["revenue"]),
        by_channel=[_channel(c, s, total["revenue"]) for c, s in per_channel.items()],
        fulfilment_mix=_mix(total),
        returns_matrix=[ReturnCell(**r) for r in await repository.returns_matrix(session, start, end, locs)],
        pickup=_pickup(await repository.pickup_outcomes(session, start, end, locs)),
        ship_from_store=_ship_from_store(rejections := await repository.ship_from_store(session, start, end, locs)),
        ship_from_store_reasons=_reasons(rejections),
        split_shipments=SplitShipmentFigures(
            delivery_orders=total["delivery_orders"],
            split_orders=total["split_orders"],
            split_rate=rules.ratio(total["split_orders"], total["delivery_orders"]),
        ),
        lead_times=[
            DurationFigures(
                measure=r["measure"], count=r["n"], p50_seconds=_seconds(r["p50"]), p90_seconds=_seconds(r["p90"])
            )
            for r in await repository.lead_times(session, start, end, locs)
        ],
        loyalty=await _loyalty(session, start, end, total),
        kiosk_endless_aisle=_endless_aisle(per_channel["kiosk"]),
        endless_aisle_skus=[
            SkuUnits(sku=r["sku"], lines=r["lines"], units=int(r["units"]))
            for r in await repository.endless_aisle_skus(session, start, end, locs, TOP_SKUS)
        ],
        daily=[
            DailyChannelFigures(day=r["day"], channel=r["channel"], orders=r["orders"], revenue=int(r["revenue"]))
            for r in days
            if r["orders"]
        ],
    )


def report_table(report: ChannelReport, table: str) -> tuple[list[str], list[list[Any]]]:
    return rules.table_rows(report, table, TABLES)


def _channel(channel: str, s: dict[str, int], all_revenue: int) -> ChannelFigures:
    units_per_order = rules.ratio(s["units"], s["orders"])
    return ChannelFigures(
        channel=channel,
        orders=s["orders"],
        cancelled_orders=s["cancelled_orders"],
        revenue=s["revenue"],
        average_order_value=rules.average(s["revenue"], s["orders"]),
        units=s["units"],
        units_per_order=round(units_per_order, 2) if units_per_order is not None else None,
        revenue_share=rules.ratio(s["revenue"], all_revenue),
    )


def _mix(total: dict[str, int]) -> list[FulfilmentMethodFigures]:
    lines_revenue = sum(total[f"{m}_revenue"] for m in METHODS)
    return [
        FulfilmentMethodFigures(
            method=m,
            orders=total[f"{m}_orders"],
            lines=total[f"{m}_lines"],
            units=total[f"{m}_units"],
            revenue=total[f"{m}_revenue"],
            revenue_share=rules.ratio(total[f"{m}_revenue"], lines_revenue),
        )
        for m in METHODS
    ]


def _pickup(rows: list[Any]) -> PickupFigures:
    by_status = {r["status"]: int(r["n"]) for r in rows}
    collected, expired = by_status.get("collected", 0), by_status.get("expired", 0)
    return PickupFigures(
        outcomes=collected + expired,
        collected=collected,
        no_shows=expired,
        no_show_rate=rules.ratio(expired, collected + expired),
    )


def _ship_from_store(rows: list[Any]) -> ShipFromStoreFigures:
    everything = sum(int(r["n"]) for r in rows)
    rejected = sum(int(r["n"]) for r in rows if r["reject_reason"] is not None)
    return ShipFromStoreFigures(
        fulfillment_orders=everything, rejected=rejected, rejection_rate=rules.ratio(rejected, everything)
    )


def _reasons(rows: list[Any]) -> list[RejectionReason]:
    found = [RejectionReason(reason=r["reject_reason"], rejections=int(r["n"])) for r in rows if r["reject_reason"]]
    return sorted(found, key=lambda r: (-r.rejections, r.reason))


async def _loyalty(session: AsyncSession, start: datetime, end: datetime, total: dict[str, int]) -> LoyaltyFigures:
    points = await repository.points(session, start, end)
    return LoyaltyFigures(
        member_orders=total["member_orders"],
        member_revenue=total["member_revenue"],
        member_revenue_share=rules.ratio(total["member_revenue"], total["revenue"]),
        points_issued=int(points["issued"]),
        points_redeemed=int(points["redeemed"]),
    )


def _endless_aisle(kiosk: dict[str, int]) -> EndlessAisleFigures:
    return EndlessAisleFigures(
        kiosk_orders=kiosk["orders"],
        endless_aisle_orders=kiosk["ea_orders"],
        endless_aisle_share=rules.ratio(kiosk["ea_orders"], kiosk["orders"]),
        lines=kiosk["ea_lines"],
        units=kiosk["ea_units"],
        revenue=kiosk["ea_revenue"],
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)
