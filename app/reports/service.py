"""The channel dashboard: "which channel works, and how do the channels work together".

Public functions (the console and the API call only these):
- `channel_report(session, *, start, end, locations=None) -> ChannelReport`
- `report_table(report, table) -> (header, rows)`: one table of a report, for CSV.
- `refresh_orders(session, order_ids)`: recompute the orders' contributions to the summary
  (the `reports.refresh_order` consumer); `refresh_for_event(session, event_id)`;
- a full rebuild (`oms reports rebuild`): `begin_rebuild(session)`, then
  `rebuild(session, after, limit)` batch after batch (records every order's contribution),
  then `end_rebuild(session)` (the summary in bulk from them), then `tidy_summary(session)`
  in an autocommit session; `fold_points(session)`: the `reports.fold_points` job.

How it stays fast: a year of a million orders is not summed at request time. The reports
keep their own summary (`models.py`): per UTC day, channel of sale and location, every
counter below; an order's contribution is recomputed from the orders, fulfillment and
returns tables (read-only) whenever an event about the order is published (placed,
cancelled, each fulfillment step, each return step: the consumer hears every event and
ignores those about no order, so no new event type is missed) and the difference with its
previous contribution is added — idempotent, so at-least-once delivery is harmless. The same
difference goes to the month's row (`report_monthly`): a period's whole months are summed from
there, only its partial months' days from the daily rows (a year: ~1,300 rows). A full
rebuild records every order's contribution, then writes both summaries in bulk from them
(compact tables, no VACUUM needed: ops/bench/RESULTS.md). Figures are as fresh as the event
relay (seconds). Points: the days folded from the loyalty ledger by the `reports.fold_points`
job (`report_points_daily`, rows recorded more than an hour ago) plus the ledger rows
recorded since, read live — exact at request time, without scanning a year of ledger.

The retailer sells in one currency (`OMS_CURRENCY`), so money figures are plain sums
of integer minor units in it.

## The period and the locations
- The period is whole UTC days, [start, end) with both bounds at 00:00 UTC; the API's
  `from`/`to` are dates, both included; at most 400 days.
- Which timestamp's UTC day puts a record in the period is given per figure below.
- `locations` (optional; none = the whole retailer). Each record counts at exactly one
  location, so figures of several locations add up: an **order** counts where it was
  placed (the store of a kiosk/POS key), else where it is to be collected, else where its
  first line ships from (as sourced at placement); a **fulfillment order** counts at the
  location that works it (rejections, pickups, lead times); a **return** where the goods
  came back (for a return not yet received: where its order counts). Points
  issued/redeemed are retailer-wide (the ledger does not record a location).

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
- **fulfillment mix**: each order line of those orders has one method, as sourced at
  placement: a pickup order's line is **ship_to_store** when a ship-to-store fulfillment
  order carries it (the store lacked it: a warehouse sends it to the store to be
  collected), else **bopis**; a delivery order's line sourced at a store
  (`order_lines.location_code`, location kind `store`) is **ship_from_store**, at a
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
  period (`closed_at`), whatever the day the order was placed: `no_shows` expired
  uncollected, `collected` handed over;
  rate = no_shows / (collected + no_shows).
- **ship-from-store rejection rate**: delivery fulfillment orders at a store (kind
  `store`) created in the period (`created_at`); rate = rejected (`reject_reason` set,
  including `timeout`: the store did not accept in time) / all of them; reasons counted.
- **split-shipment rate**: not-cancelled delivery orders of the period whose lines were
  sourced from more than one location at placement (more than one parcel) / all
  not-cancelled delivery orders of the period.
- **order-to-ship / order-to-ready** (p50, p90, seconds): for orders of the period
  (`placed_at`), each delivery fulfillment order shipped (its first `ship` event's time −
  `orders.placed_at`); each pickup fulfillment order made ready (`ready_at − placed_at`).
  Ship-to-store legs are not counted as shipments to the customer. Times are counted in
  buckets with upper edges 15 min, 30 min, 1 h, 2 h, 3 h, 4 h, 6 h, 8 h, 12 h, 18 h, 24 h,
  36 h, 48 h, 3 d, 4 d, 5 d, 7 d, 10 d, 14 d, 30 d (`rules.LEAD_EDGES`); p50 (p90) is the
  smallest edge E such that at least 50 % (90 %) of the times are <= E — "half the orders
  shipped within E" — null beyond 30 days. `count` is how many were measured.
- **loyalty**: every customer record carries a loyalty card (`customers.card_number` is
  NOT NULL), so a **member's order** is an order placed for an identified customer;
  anonymous orders are not. `member_revenue` / revenue is the members' share.
  `points_issued`: points earned (ledger rows of kind `earn`, `occurred_at` in the period);
  `points_redeemed`: points spent as a tender (kind `redeem`), as a positive number.
  Restorations, reversals, expiries and adjustments are not counted in either.
- **kiosk endless aisle**: a kiosk order line is an *endless-aisle line* when its units do
  not come from the kiosk's own store (`orders.store_code`): the line was sourced at
  another location (`order_lines.location_code`, shipped home from there), or a
  ship-to-store fulfillment order sends it to the store from a warehouse — the store could
  not give that SKU (that size) from its available stock at placement. An *endless-aisle order* is a not-cancelled
  kiosk order with at least one such line; its share is of not-cancelled kiosk orders;
  lines, units and revenue (`line_total`) are those of the endless-aisle lines; the SKUs
  the store lacked most are in `endless_aisle_skus` (top 20 by units).
- **daily**: per UTC day of `placed_at` and channel, orders and revenue as above (for the
  line charts); days and channels without orders are absent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.models import OutboxEvent
from app.core.settings import get_settings
from app.reports import repository, rules
from app.reports.rules import CHANNELS, COUNTERS, METHODS, REJECT_REASONS, RETURN_CHANNELS, Contribution
from app.reports.schemas import (
    TABLES,
    ChannelFigures,
    ChannelReport,
    DailyChannelFigures,
    DurationFigures,
    EndlessAisleFigures,
    FulfillmentMethodFigures,
    LoyaltyFigures,
    PickupFigures,
    RejectionReason,
    ReturnCell,
    ShipFromStoreFigures,
    SkuUnits,
    SplitShipmentFigures,
)

TOP_SKUS = 20
# Ledger rows are folded into the points per day once recorded longer ago than this: far more
# than any transaction lasts (statements time out in seconds, jobs in a minute), so every
# transaction that recorded rows before the mark has committed when the mark is set.
POINTS_FOLD_MARGIN = timedelta(hours=1)
# Events whose order's contribution may have changed.
EVENT_PREFIXES = ("order.", "fulfillment.", "return.")


async def channel_report(
    session: AsyncSession, *, start: datetime, end: datetime, locations: Sequence[str] | None = None
) -> ChannelReport:
    rules.validate_period(start, end)
    locs = sorted(set(locations)) if locations else None
    first, after = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    rows, days = await repository.counters(session, first, after, locs)
    per_channel = {c: dict.fromkeys(COUNTERS, 0) for c in CHANNELS}
    for row in rows:
        sums = per_channel.setdefault(row["channel"], dict.fromkeys(COUNTERS, 0))
        for key in COUNTERS:
            sums[key] += int(row[key] or 0)
    total = {key: sum(s[key] for s in per_channel.values()) for key in COUNTERS}
    points = await repository.points(session, start, end)
    return ChannelReport(
        start=start,
        end=end,
        locations=locs,
        currency=get_settings().currency,
        totals=_channel("all", total, total["revenue"]),
        by_channel=[_channel(c, s, total["revenue"]) for c, s in per_channel.items()],
        fulfillment_mix=_mix(total),
        returns_matrix=_returns_matrix(per_channel),
        pickup=PickupFigures(
            outcomes=total["pickup_collected"] + total["pickup_expired"],
            collected=total["pickup_collected"],
            no_shows=total["pickup_expired"],
            no_show_rate=rules.ratio(total["pickup_expired"], total["pickup_collected"] + total["pickup_expired"]),
        ),
        ship_from_store=ShipFromStoreFigures(
            fulfillment_orders=total["sfs_fos"],
            rejected=total["sfs_rejected"],
            rejection_rate=rules.ratio(total["sfs_rejected"], total["sfs_fos"]),
        ),
        ship_from_store_reasons=sorted(
            (RejectionReason(reason=r, rejections=total[f"sfs_{r}"]) for r in REJECT_REASONS if total[f"sfs_{r}"]),
            key=lambda r: (-r.rejections, r.reason),
        ),
        split_shipments=SplitShipmentFigures(
            delivery_orders=total["delivery_fulfillment_orders"],
            split_orders=total["split_orders"],
            split_rate=rules.ratio(total["split_orders"], total["delivery_fulfillment_orders"]),
        ),
        lead_times=[_lead_time("order_to_ship", "ship", total), _lead_time("order_to_ready", "ready", total)],
        loyalty=LoyaltyFigures(
            member_orders=total["member_orders"],
            member_revenue=total["member_revenue"],
            member_revenue_share=rules.ratio(total["member_revenue"], total["revenue"]),
            points_issued=int(points["issued"]),
            points_redeemed=int(points["redeemed"]),
        ),
        kiosk_endless_aisle=_endless_aisle(per_channel["kiosk"]),
        endless_aisle_skus=[
            SkuUnits(sku=r["sku"], lines=int(r["lines"]), units=int(r["units"]))
            for r in await repository.endless_aisle_skus(session, first, after, locs, TOP_SKUS)
        ],
        daily=[
            DailyChannelFigures(
                day=r["day"], channel=r["channel"], orders=int(r["day_orders"]), revenue=int(r["day_revenue"])
            )
            for r in days
        ],
    )


def report_table(report: ChannelReport, table: str) -> tuple[list[str], list[list[Any]]]:
    return rules.table_rows(report, table, TABLES)


# ---------------------------------------------------------------- keeping the summary


async def refresh_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> int:
    """Recompute the orders' contributions and add the difference to the summary; returns
    how many orders changed it. Idempotent: a second refresh of the same data adds nothing."""
    if not order_ids:
        return 0
    now = clock.now()
    old = await repository.lock_facts(session, order_ids, now)
    new = await _contributions(session, list(old))
    delta = Contribution()
    changed: dict[uuid.UUID, dict[str, Any]] = {}
    for order_id, before_json in old.items():
        after = new.get(order_id, Contribution())
        after_json = after.to_json()
        if after_json == {"daily": before_json.get("daily", []), "skus": before_json.get("skus", [])}:
            continue
        changed[order_id] = after_json
        _accumulate(delta, rules.difference(after, Contribution.from_json(before_json)))
    await repository.add_daily(session, _daily_rows(delta))
    await repository.add_skus(
        session,
        [
            {"day": d.isoformat(), "location": loc, "sku": sku, "lines": n, "units": u}
            for (d, loc, sku), (n, u) in sorted(delta.skus.items())
        ],
    )
    if changed:
        await repository.save_facts(session, changed, now)
    return len(changed)


async def _contributions(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contribution]:
    """What each existing order contributes now (rules.order_contributions), from its rows."""
    orders = await repository.orders(session, order_ids)
    lines = await repository.lines(session, list(orders))
    fos = await repository.fulfillment_orders(session, list(orders))
    returns = await repository.returns(session, list(orders))
    return {
        order_id: rules.order_contributions(
            order, lines.get(order_id, []), fos.get(order_id, []), returns.get(order_id, [])
        )
        for order_id, order in orders.items()
    }


async def refresh_for_event(session: AsyncSession, event_id: str) -> int:
    """The consumer's body: refresh the order an order/fulfillment/return event is about."""
    event = await repository.event(session, uuid.UUID(event_id)) if _is_uuid(event_id) else None
    order_id = _order_of(event) if event is not None else None
    return await refresh_orders(session, [order_id]) if order_id else 0


async def begin_rebuild(session: AsyncSession) -> None:
    """A full rebuild (`oms reports rebuild`: after installing, or to repair): forget every
    recorded contribution; then `rebuild` batch after batch, then `end_rebuild`. The dashboard
    shows the previous summary until `end_rebuild` commits."""
    await repository.clear_facts(session)


async def rebuild(
    session: AsyncSession, after: tuple[datetime, uuid.UUID] | None, limit: int = 5000
) -> tuple[datetime, uuid.UUID] | None:
    """Record the contributions of the next `limit` orders after the cursor `after`
    (placement order), each written once; returns the new cursor, None at the end. One
    transaction per batch. The summary itself is left alone until `end_rebuild`."""
    batch = await repository.orders_after(session, after, limit)
    contributions = await _contributions(session, [order_id for _, order_id in batch])
    await repository.insert_facts(session, {k: c.to_json() for k, c in contributions.items()}, clock.now())
    return batch[-1] if batch else None


async def end_rebuild(session: AsyncSession) -> None:
    """Build the summary tables in bulk from the recorded contributions (one INSERT … SELECT
    … GROUP BY each, into the emptied tables): compact, no dead row versions, as the
    consumer's incremental deltas would have summed them; and the points per day from the
    whole ledger."""
    await repository.summary_from_facts(session)
    await repository.refold_points(session, clock.now() - POINTS_FOLD_MARGIN)


async def fold_points(session: AsyncSession) -> bool:
    """The `reports.fold_points` job (every minute): the ledger rows recorded more than
    POINTS_FOLD_MARGIN ago are added to their days; the report reads the rest live."""
    return await repository.fold_points(session, clock.now() - POINTS_FOLD_MARGIN)


async def tidy_summary(session: AsyncSession) -> None:
    """After `end_rebuild` committed, in an autocommit session (`db.autocommit`): VACUUM the
    fresh tables so the first report reads them without setting hint bits."""
    await repository.vacuum_summary(session)


def _order_of(event: OutboxEvent) -> uuid.UUID | None:
    if not event.type.startswith(EVENT_PREFIXES):
        return None
    raw = event.aggregate_id if event.aggregate_type == "order" else (event.payload or {}).get("order_id")
    return uuid.UUID(raw) if isinstance(raw, str) and _is_uuid(raw) else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _accumulate(into: Contribution, delta: Contribution) -> None:
    for key, counters in delta.daily.items():
        into.add(key, **counters)
    for sku_key, (n, u) in delta.skus.items():
        n0, u0 = into.skus.get(sku_key, (0, 0))
        into.skus[sku_key] = (n0 + n, u0 + u)


def _daily_rows(delta: Contribution) -> list[dict[str, Any]]:
    zero = dict.fromkeys(COUNTERS, 0)
    return [
        {**zero, **counters, "day": day.isoformat(), "channel": channel, "location": location}
        for (day, channel, location), counters in sorted(delta.daily.items())
        if any(counters.values())
    ]


# ---------------------------------------------------------------- shaping the answer


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


def _mix(total: dict[str, int]) -> list[FulfillmentMethodFigures]:
    lines_revenue = sum(total[f"{m}_revenue"] for m in METHODS)
    return [
        FulfillmentMethodFigures(
            method=m,
            orders=total[f"{m}_orders"],
            lines=total[f"{m}_lines"],
            units=total[f"{m}_units"],
            revenue=total[f"{m}_revenue"],
            revenue_share=rules.ratio(total[f"{m}_revenue"], lines_revenue),
        )
        for m in METHODS
    ]


def _returns_matrix(per_channel: dict[str, dict[str, int]]) -> list[ReturnCell]:
    return [
        ReturnCell(
            sale_channel=sale,
            return_channel=back,
            returns=s[f"returns_{back}"],
            units=s[f"return_units_{back}"],
            refunded=s[f"return_refunded_{back}"],
        )
        for sale, s in per_channel.items()
        for back in RETURN_CHANNELS
        if s[f"returns_{back}"]
    ]


def _lead_time(measure: str, prefix: str, total: dict[str, int]) -> DurationFigures:
    histogram = [total[b.format(prefix)] for b in rules.LEAD_BUCKETS]
    p50, p90 = rules.edge_percentile(histogram, 0.5), rules.edge_percentile(histogram, 0.9)
    return DurationFigures(
        measure=measure,
        count=total[f"{prefix}_count"],
        p50_seconds=None if p50 is None else float(p50),
        p90_seconds=None if p90 is None else float(p90),
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
