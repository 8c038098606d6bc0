"""Every SQL statement of the reports.

Reads: the orders, fulfillment, returns and loyalty tables (read-only: DESIGN.md) to
refresh an order's contribution, and the reports' own summary tables to answer.
Writes: only the reports' own tables (`report_daily`, `report_monthly`,
`report_endless_aisle_skus`, `report_order_facts`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app.core.models import OutboxEvent
from app.reports.rules import COUNTERS, LEAD_BUCKETS, FulfillmentRow, LineRow, OrderRow, ReturnRow, whole_months

_IDS = bindparam("ids", type_=ARRAY(String))
_LOCS = bindparam("locs", type_=ARRAY(String))


def _ids(order_ids: Sequence[uuid.UUID]) -> list[str]:
    return [str(i) for i in order_ids]


# ---------------------------------------------------------------- the sources of one batch


async def orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, OrderRow]:
    rows = await session.execute(
        text(
            "SELECT id, channel, status, total, customer_id IS NOT NULL AS member, fulfillment, store_code, "
            "pickup_location_code, placed_at FROM orders WHERE id = ANY(CAST(:ids AS uuid[]))"
        ).bindparams(_IDS),
        {"ids": _ids(order_ids)},
    )
    return {r.id: OrderRow(**{k: v for k, v in r._mapping.items() if k != "id"}) for r in rows}


async def lines(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[LineRow]]:
    rows = await session.execute(
        text(
            "SELECT l.order_id, l.line_no, l.sku, l.quantity, l.line_total, l.location_code, "
            "coalesce(loc.kind, 'warehouse') AS location_kind, "
            "(SELECT f.location_code FROM fulfillment_orders f JOIN fulfillment_order_lines fl "
            " ON fl.fulfillment_order_id = f.id AND fl.line_id = l.line_no::text "
            " WHERE f.order_id = l.order_id AND f.type = 'ship_to_store' ORDER BY f.created_at LIMIT 1) AS sent_from "
            "FROM order_lines l LEFT JOIN locations loc ON loc.code = l.location_code "
            "WHERE l.order_id = ANY(CAST(:ids AS uuid[]))"
        ).bindparams(_IDS),
        {"ids": _ids(order_ids)},
    )
    out: dict[uuid.UUID, list[LineRow]] = {}
    for r in rows:
        out.setdefault(r.order_id, []).append(LineRow(**{k: v for k, v in r._mapping.items() if k != "order_id"}))
    return out


async def fulfillment_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[FulfillmentRow]]:
    rows = await session.execute(
        text(
            "SELECT f.order_id, f.type, f.status, f.location_code, coalesce(loc.kind, 'warehouse') AS location_kind, "
            "f.reject_reason, f.created_at, f.closed_at, f.ready_at, "
            "(SELECT min(e.at) FROM fulfillment_events e WHERE e.order_id = f.order_id "
            " AND e.fulfillment_order_id = f.id AND e.kind = 'ship') AS shipped_at "
            "FROM fulfillment_orders f LEFT JOIN locations loc ON loc.code = f.location_code "
            "WHERE f.order_id = ANY(CAST(:ids AS uuid[]))"
        ).bindparams(_IDS),
        {"ids": _ids(order_ids)},
    )
    out: dict[uuid.UUID, list[FulfillmentRow]] = {}
    for r in rows:
        fo = FulfillmentRow(**{k: v for k, v in r._mapping.items() if k != "order_id"})
        out.setdefault(r.order_id, []).append(fo)
    return out


async def returns(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ReturnRow]]:
    rows = await session.execute(
        text(
            "SELECT r.order_id, r.channel, r.location_code, r.status, r.created_at, r.refund_total, "
            "(SELECT coalesce(sum(quantity), 0) FROM return_lines WHERE return_id = r.id) AS units "
            "FROM returns r WHERE r.order_id = ANY(CAST(:ids AS uuid[]))"
        ).bindparams(_IDS),
        {"ids": _ids(order_ids)},
    )
    out: dict[uuid.UUID, list[ReturnRow]] = {}
    for r in rows:
        ret = ReturnRow(
            channel=r.channel,
            location_code=r.location_code,
            status=r.status,
            created_at=r.created_at,
            units=int(r.units),
            refund_total=r.refund_total,
        )
        out.setdefault(r.order_id, []).append(ret)
    return out


async def orders_after(
    session: AsyncSession, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[tuple[datetime, uuid.UUID]]:
    """Every order in (placed_at, id) order (ix_orders_placed): a rebuild walks them in batches
    of neighbouring days, so each batch adds to few summary rows."""
    if after is None:
        statement = text("SELECT placed_at, id FROM orders ORDER BY placed_at, id LIMIT :limit")
        params: dict[str, Any] = {"limit": limit}
    else:
        statement = text(
            "SELECT placed_at, id FROM orders WHERE (placed_at, id) > (:at, CAST(:id AS uuid)) "
            "ORDER BY placed_at, id LIMIT :limit"
        )
        params = {"at": after[0], "id": str(after[1]), "limit": limit}
    return [(r.placed_at, r.id) for r in await session.execute(statement, params)]


async def event(session: AsyncSession, event_id: uuid.UUID) -> OutboxEvent | None:
    return (await session.execute(select(OutboxEvent).where(OutboxEvent.event_id == event_id))).scalar_one_or_none()


# ---------------------------------------------------------------- the summary tables


async def lock_facts(session: AsyncSession, order_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, Any]:
    """The orders' current contributions, their rows locked (in id order: no deadlock
    between two refreshes of overlapping batches)."""
    ids = sorted(_ids(order_ids))
    await session.execute(
        text(
            "INSERT INTO report_order_facts (order_id, contributions, refreshed_at) "
            "SELECT i, '{}'::jsonb, :now FROM unnest(CAST(:ids AS uuid[])) i ORDER BY i ON CONFLICT DO NOTHING"
        ).bindparams(_IDS),
        {"ids": ids, "now": now},
    )
    rows = await session.execute(
        text(
            "SELECT order_id, contributions FROM report_order_facts WHERE order_id = ANY(CAST(:ids AS uuid[])) "
            "ORDER BY order_id FOR UPDATE"
        ).bindparams(_IDS),
        {"ids": ids},
    )
    return {r.order_id: r.contributions for r in rows}


async def save_facts(session: AsyncSession, facts: dict[uuid.UUID, dict[str, Any]], now: datetime) -> None:
    rows = [{"order_id": str(k), "c": v} for k, v in facts.items()]
    await session.execute(
        text(
            "UPDATE report_order_facts f SET contributions = v.c, refreshed_at = :now "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(order_id uuid, c jsonb) WHERE f.order_id = v.order_id"
        ),
        {"rows": msgspec.json.encode(rows).decode(), "now": now},
    )


async def clear_facts(session: AsyncSession) -> None:
    """A full rebuild starts from no contribution at all (a fresh, compact table)."""
    await session.execute(text("TRUNCATE report_order_facts"))


async def insert_facts(session: AsyncSession, facts: dict[uuid.UUID, dict[str, Any]], now: datetime) -> None:
    """A rebuild batch's contributions, written once each (no upsert: no dead row versions).
    An order the consumer refreshed meanwhile keeps the consumer's row (computed under its lock)."""
    rows = [{"order_id": str(k), "c": v} for k, v in sorted(facts.items())]
    await session.execute(
        text(
            "INSERT INTO report_order_facts (order_id, contributions, refreshed_at) "
            "SELECT v.order_id, v.c, :now FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(order_id uuid, c jsonb) "
            "ON CONFLICT DO NOTHING"
        ),
        {"rows": msgspec.json.encode(rows).decode(), "now": now},
    )


def _sum(name: str) -> str:
    return f"coalesce(sum(c.{name}), 0)"


# Every summary row is the sum of the orders' recorded contributions: the same figures the
# consumer's per-order deltas add up to, in one pass (rules.order_contributions stays the one
# definition of the counters).
_DAILY_FROM_FACTS = text(
    f"INSERT INTO report_daily (day, channel, location, {', '.join(COUNTERS)}) "
    "SELECT (e->>0)::date, e->>1, e->>2, " + ", ".join(_sum(c) for c in COUNTERS) + " "
    "FROM report_order_facts f, jsonb_array_elements(f.contributions->'daily') e, "
    "jsonb_populate_record(NULL::report_daily, e->3) c "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)
_MONTHLY_FROM_DAILY = text(
    f"INSERT INTO report_monthly (month, channel, location, {', '.join(COUNTERS)}) "
    "SELECT date_trunc('month', day)::date, channel, location, "
    + ", ".join(f"sum({c})" for c in COUNTERS)
    + " FROM report_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)
_SKUS_FROM_FACTS = text(
    "INSERT INTO report_endless_aisle_skus (day, location, sku, lines, units) "
    "SELECT (s->>0)::date, s->>1, s->>2, sum((s->>3)::int), sum((s->>4)::int) "
    "FROM report_order_facts f, jsonb_array_elements(f.contributions->'skus') s "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)


_SUMMARY = "report_daily, report_monthly, report_endless_aisle_skus"
_BULK_TIMEOUT = "1h"


async def summary_from_facts(session: AsyncSession) -> None:
    """Replace the summary tables by the sums of the recorded contributions, in bulk: fresh
    tables (TRUNCATE), each row written once, in (day, ...) order — compact, no dead row
    versions, so a year's scan reads the fewest pages. Consumers wait (the facts are locked
    against writes) until this commits, then add their deltas to the new summary; the
    dashboard waits too (TRUNCATE), for the aggregation's seconds."""
    await session.execute(text("LOCK TABLE report_order_facts IN SHARE MODE"))
    # One statement sums a million orders' contributions: minutes, not the requests' timeout.
    await session.execute(text(f"SET LOCAL statement_timeout = '{_BULK_TIMEOUT}'"))
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    await session.execute(text("TRUNCATE report_daily, report_monthly, report_endless_aisle_skus"))
    await session.execute(_DAILY_FROM_FACTS)
    await session.execute(_MONTHLY_FROM_DAILY)
    await session.execute(_SKUS_FROM_FACTS)
    await session.execute(text(f"ANALYZE {_SUMMARY}, report_order_facts"))


async def vacuum_summary(session: AsyncSession) -> None:
    """After a rebuild (outside a transaction: an autocommit session): set the hint bits and
    the visibility map, so the first report does not pay for them."""
    await session.execute(text(f"SET statement_timeout = '{_BULK_TIMEOUT}'"))
    try:
        await session.execute(text(f"VACUUM (ANALYZE) {_SUMMARY}"))
    finally:
        await session.execute(text("RESET statement_timeout"))  # the connection goes back to the pool


_ADD_DAILY = text(
    "INSERT INTO report_daily SELECT * FROM jsonb_populate_recordset(NULL::report_daily, CAST(:rows AS jsonb)) "
    "ORDER BY day, channel, location "
    "ON CONFLICT (day, channel, location) DO UPDATE SET "
    + ", ".join(f"{c} = report_daily.{c} + excluded.{c}" for c in COUNTERS)
)
_ADD_MONTHLY = text(
    f"INSERT INTO report_monthly (month, channel, location, {', '.join(COUNTERS)}) "
    "SELECT date_trunc('month', day)::date, channel, location, "
    + ", ".join(f"sum({c})" for c in COUNTERS)
    + " FROM jsonb_populate_recordset(NULL::report_daily, CAST(:rows AS jsonb)) "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
    "ON CONFLICT (month, channel, location) DO UPDATE SET "
    + ", ".join(f"{c} = report_monthly.{c} + excluded.{c}" for c in COUNTERS)
)


async def add_daily(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add each row's counters to its (day, channel, location) row and to its month's row;
    every counter is given."""
    if rows:
        encoded = msgspec.json.encode(rows).decode()
        await session.execute(_ADD_DAILY, {"rows": encoded})
        await session.execute(_ADD_MONTHLY, {"rows": encoded})


async def add_skus(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(
            text(
                "INSERT INTO report_endless_aisle_skus (day, location, sku, lines, units) "
                "SELECT day, location, sku, lines, units "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(day date, location text, sku text, lines bigint, "
                "units bigint) ORDER BY day, location, sku "
                "ON CONFLICT (day, location, sku) DO UPDATE SET "
                "lines = report_endless_aisle_skus.lines + excluded.lines, "
                "units = report_endless_aisle_skus.units + excluded.units"
            ),
            {"rows": msgspec.json.encode(rows).decode()},
        )


# ---------------------------------------------------------------- the answers


async def _located(
    session: AsyncSession, sql: str, params: dict[str, Any], locations: Sequence[str] | None
) -> list[Any]:
    if locations is None:
        statement = text(sql.format(at=""))
    else:
        statement = text(sql.format(at="AND location = ANY(:locs)")).bindparams(_LOCS)
        params = {**params, "locs": list(locations)}
    return list((await session.execute(statement, params)).mappings())


async def counters(
    session: AsyncSession, first: date, end: date, locations: Sequence[str] | None
) -> tuple[list[Any], list[Any]]:
    """Every counter per channel: the period's whole months from `report_monthly`, the days
    of its partial months from `report_daily` (a year: ~1,300 monthly rows instead of ~40,000
    daily ones); then orders and revenue per day and channel (the line charts), two narrow
    columns of the daily rows."""
    whole_from, whole_to = whole_months(first, end)
    columns = ", ".join(COUNTERS)
    per_channel = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)
    nothing = ", ".join(f"NULL::bigint AS {c}" for c in COUNTERS)
    sql = (
        f"SELECT true AS per_channel, NULL::date AS day, channel, {per_channel}, "
        "NULL::bigint AS day_orders, NULL::bigint AS day_revenue FROM ("
        f"SELECT channel, {columns} FROM report_monthly WHERE month >= :whole_from AND month < :whole_to {{at}} "
        f"UNION ALL SELECT channel, {columns} FROM report_daily WHERE day >= :first AND day < :whole_from {{at}} "
        f"UNION ALL SELECT channel, {columns} FROM report_daily WHERE day >= :whole_to AND day < :end {{at}}"
        ") p GROUP BY channel "
        f"UNION ALL SELECT false, day, channel, {nothing}, sum(orders)::bigint, sum(revenue)::bigint "
        "FROM report_daily WHERE day >= :first AND day < :end {at} GROUP BY day, channel HAVING sum(orders) > 0 "
        "ORDER BY day NULLS FIRST, channel"
    )
    params = {"first": first, "end": end, "whole_from": whole_from, "whole_to": whole_to}
    rows = await _located(session, sql, params, locations)
    return [r for r in rows if r["per_channel"]], [r for r in rows if not r["per_channel"]]


async def endless_aisle_skus(
    session: AsyncSession, first: date, end: date, locations: Sequence[str] | None, top: int
) -> list[Any]:
    sql = (
        "SELECT sku, sum(lines)::bigint AS lines, sum(units)::bigint AS units FROM report_endless_aisle_skus "
        "WHERE day >= :first AND day < :end {at} GROUP BY sku HAVING sum(units) > 0 "
        "ORDER BY units DESC, sku LIMIT :top"
    )
    return await _located(session, sql, {"first": first, "end": end, "top": top}, locations)


# Before any ledger row (the mark before the first fold, when its row is missing).
_EVER = datetime(1970, 1, 1, tzinfo=UTC)
_EARNED = "coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0)"
_REDEEMED = "coalesce(-sum(points) FILTER (WHERE kind = 'redeem'), 0)"
_MARK = "coalesce((SELECT recorded_before FROM report_points_mark), :ever)"


_POINTS = (
    "WITH folded AS (SELECT coalesce(sum(issued), 0) AS issued, coalesce(sum(redeemed), 0) AS redeemed "
    "FROM report_points_daily WHERE day >= :first AND day < :last), "
    f"live AS (SELECT {_EARNED} AS issued, {_REDEEMED} AS redeemed FROM loyalty_ledger "
    "WHERE recorded_at >= TIMESTAMPTZ '{mark}' AND occurred_at >= :start AND occurred_at < :end) "
    f"SELECT {_MARK} AS mark, (folded.issued + live.issued)::bigint AS issued, "
    "(folded.redeemed + live.redeemed)::bigint AS redeemed FROM folded, live"
)


async def points(session: AsyncSession, start: datetime, end: datetime) -> Any:
    """Points earned and redeemed: the folded days (`report_points_daily`, a row a day) plus
    the ledger rows recorded since the fold's mark (an hour or so: index-only scan of
    ix_loyalty_ledger_recorded_at). The mark is written into the statement: the app plans
    prepared statements once, for any value (`plan_cache_mode`, app/core/db.py), and for a
    parameter that plan assumes a third of the ledger is recent and scans all of it (0.6 s
    on a year, ops/bench/RESULTS.md); a constant (a datetime we read, no quotes in its ISO
    form) lets it see an hour's worth. The statement reads the mark again: if a fold
    committed meanwhile, the sums would be mixed, so again with the new mark."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    mark: datetime = (await session.execute(text(f"SELECT {_MARK}"), {"ever": _EVER})).scalar_one()
    while True:
        statement = text(_POINTS.replace("{mark}", mark.astimezone(UTC).isoformat()))
        params = {"start": start, "end": end, "first": first, "last": last, "ever": _EVER}
        row = (await session.execute(statement, params)).mappings().one()
        if row["mark"] == mark:
            return row
        mark = row["mark"]


_FOLD = (
    "INSERT INTO report_points_daily (day, issued, redeemed) "
    f"SELECT (occurred_at AT TIME ZONE 'UTC')::date, {_EARNED}, {_REDEEMED} FROM loyalty_ledger "
    "WHERE kind IN ('earn', 'redeem') AND recorded_at >= :since AND recorded_at < :before GROUP BY 1 ORDER BY 1 "
)


async def fold_points(session: AsyncSession, before: datetime) -> bool:
    """Add the ledger rows recorded between the mark and `before` to their days and move the
    mark to `before` (one folder at a time: the mark's row is locked). False when the mark is
    already there. Each row is folded once: it lies in exactly one [mark, before) window."""
    since = (
        await session.execute(text("SELECT recorded_before FROM report_points_mark FOR UPDATE"))
    ).scalar_one_or_none()
    if since is not None and since >= before:
        return False
    await session.execute(
        text(
            _FOLD + "ON CONFLICT (day) DO UPDATE SET issued = report_points_daily.issued + excluded.issued, "
            "redeemed = report_points_daily.redeemed + excluded.redeemed"
        ),
        {"since": since or _EVER, "before": before},
    )
    await _set_mark(session, before)
    return True


async def refold_points(session: AsyncSession, before: datetime) -> None:
    """The rebuild's: every day from the whole ledger, recorded before `before`."""
    await session.execute(text("TRUNCATE report_points_daily"))
    await session.execute(text(_FOLD), {"since": _EVER, "before": before})
    await _set_mark(session, before)


async def _set_mark(session: AsyncSession, before: datetime) -> None:
    await session.execute(
        text(
            "INSERT INTO report_points_mark (recorded_before) VALUES (:before) "
            "ON CONFLICT (one) DO UPDATE SET recorded_before = excluded.recorded_before"
        ),
        {"before": before},
    )


def lead_histogram(row: Any, measure: str) -> list[int]:
    return [int(row[b.format(measure)] or 0) for b in LEAD_BUCKETS]
