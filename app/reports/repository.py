"""Every SQL statement of the reports: read-only aggregates over the orders, fulfilment,
returns and loyalty tables (DESIGN.md: reports read any table, write none of them).

Each query takes the period as [start, end) and, when `locations` is given, adds the
location clause of its figure (see service.py for what "at a location" means for each).
The clauses are added to the SQL text rather than written as `:locs IS NULL OR ...`, so the
planner never settles on one generic plan for both shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

# An order is at the locations when it was placed there (kiosk/POS store), is collected
# there, or has a line sourced there at placement.
_ORDER_AT = """
  AND (o.store_code = ANY(:locs) OR o.pickup_location_code = ANY(:locs)
       OR EXISTS (SELECT 1 FROM order_lines x WHERE x.order_id = o.id AND x.location_code = ANY(:locs)))
"""

# One pass over the period's order lines: per order first (units, sources, each line's
# fulfilment method, kiosk lines not served by the kiosk's store), then per UTC day and channel.
_ORDERS_BY_DAY = """
WITH per_order AS (
  SELECT o.channel,
         (o.placed_at AT TIME ZONE 'UTC')::date AS day,
         o.status = 'cancelled' AS cancelled,
         o.total,
         o.customer_id IS NOT NULL AS member,
         o.fulfilment,
         sum(l.quantity) AS units,
         min(l.location_code) <> max(l.location_code) AS split,
         {methods}
         count(*) FILTER (WHERE {aisle}) AS ea_lines,
         coalesce(sum(l.quantity) FILTER (WHERE {aisle}), 0) AS ea_units,
         coalesce(sum(l.line_total) FILTER (WHERE {aisle}), 0) AS ea_revenue
  FROM orders o
  JOIN order_lines l ON l.order_id = o.id
  JOIN locations loc ON loc.code = l.location_code
  WHERE o.placed_at >= :start AND o.placed_at < :end {order_at}
  GROUP BY o.id
)
SELECT day, channel,
       count(*) FILTER (WHERE NOT cancelled) AS orders,
       count(*) FILTER (WHERE cancelled) AS cancelled_orders,
       coalesce(sum(total) FILTER (WHERE NOT cancelled), 0) AS revenue,
       coalesce(sum(units) FILTER (WHERE NOT cancelled), 0) AS units,
       count(*) FILTER (WHERE NOT cancelled AND member) AS member_orders,
       coalesce(sum(total) FILTER (WHERE NOT cancelled AND member), 0) AS member_revenue,
       count(*) FILTER (WHERE NOT cancelled AND fulfilment = 'delivery') AS delivery_orders,
       count(*) FILTER (WHERE NOT cancelled AND fulfilment = 'delivery' AND split) AS split_orders,
       {method_totals}
       count(*) FILTER (WHERE NOT cancelled AND ea_lines > 0) AS ea_orders,
       coalesce(sum(ea_lines) FILTER (WHERE NOT cancelled), 0) AS ea_lines,
       coalesce(sum(ea_units) FILTER (WHERE NOT cancelled), 0) AS ea_units,
       coalesce(sum(ea_revenue) FILTER (WHERE NOT cancelled), 0) AS ea_revenue
FROM per_order
GROUP BY day, channel
ORDER BY day, channel
"""

# A kiosk order line the kiosk's own store did not serve (the endless aisle).
_AISLE = "o.channel = 'kiosk' AND l.location_code <> o.store_code"
# The fulfilment method of an order line, as sourced at placement.
_METHOD = """CASE WHEN o.fulfilment = 'pickup' THEN
                   CASE WHEN l.location_code = o.pickup_location_code THEN 'bopis' ELSE 'ship_to_store' END
                 WHEN loc.kind = 'store' THEN 'ship_from_store' ELSE 'delivery' END"""
METHODS = ("delivery", "ship_from_store", "bopis", "ship_to_store")


def _method_columns() -> tuple[str, str]:
    per_order, totals = [], []
    for m in METHODS:
        per_order.append(
            f"count(*) FILTER (WHERE {_METHOD} = '{m}') AS {m}_lines, "
            f"coalesce(sum(l.quantity) FILTER (WHERE {_METHOD} = '{m}'), 0) AS {m}_units, "
            f"coalesce(sum(l.line_total) FILTER (WHERE {_METHOD} = '{m}'), 0) AS {m}_revenue,"
        )
        totals.append(
            f"count(*) FILTER (WHERE NOT cancelled AND {m}_lines > 0) AS {m}_orders, "
            f"coalesce(sum({m}_lines) FILTER (WHERE NOT cancelled), 0) AS {m}_lines, "
            f"coalesce(sum({m}_units) FILTER (WHERE NOT cancelled), 0) AS {m}_units, "
            f"coalesce(sum({m}_revenue) FILTER (WHERE NOT cancelled), 0) AS {m}_revenue,"
        )
    return "\n".join(per_order), "\n".join(totals)


_PER_ORDER_METHODS, _METHOD_TOTALS = _method_columns()

_ENDLESS_AISLE_SKUS = """
SELECT l.sku, count(*) AS lines, sum(l.quantity) AS units
FROM orders o
JOIN order_lines l ON l.order_id = o.id
WHERE o.channel = 'kiosk' AND o.status <> 'cancelled' AND l.location_code <> o.store_code
  AND o.placed_at >= :start AND o.placed_at < :end {order_at}
GROUP BY l.sku
ORDER BY units DESC, l.sku
LIMIT :top
"""

_LEAD_TIMES = """
SELECT 'order_to_ship' AS measure, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90
FROM (
  SELECT extract(epoch FROM e.at - o.placed_at) AS s
  FROM orders o
  JOIN fulfillment_events e ON e.order_id = o.id AND e.kind = 'ship'
  JOIN fulfillment_orders f ON f.id = e.fulfillment_order_id AND f.type = 'delivery'
  WHERE o.placed_at >= :start AND o.placed_at < :end {order_at}
) shipped
UNION ALL
SELECT 'order_to_ready', count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s)
FROM (
  SELECT extract(epoch FROM f.ready_at - o.placed_at) AS s
  FROM orders o
  JOIN fulfillment_orders f ON f.order_id = o.id AND f.type = 'pickup' AND f.ready_at IS NOT NULL
  WHERE o.placed_at >= :start AND o.placed_at < :end {order_at}
) readied
"""

_SHIP_FROM_STORE = """
SELECT f.reject_reason, count(*) AS n
FROM fulfillment_orders f
JOIN locations loc ON loc.code = f.location_code AND loc.kind = 'store'
WHERE f.type = 'delivery' AND f.created_at >= :start AND f.created_at < :end {fo_at}
GROUP BY f.reject_reason
"""

_PICKUP_OUTCOMES = """
SELECT f.status, count(*) AS n
FROM fulfillment_orders f
WHERE f.type = 'pickup' AND f.status IN ('collected', 'expired')
  AND f.closed_at >= :start AND f.closed_at < :end {fo_at}
GROUP BY f.status
"""

_RETURNS_MATRIX = """
SELECT o.channel AS sale_channel, coalesce(r.channel, 'back_office') AS return_channel,
       count(*) AS returns, coalesce(sum(rl.units), 0) AS units, coalesce(sum(r.refund_total), 0) AS refunded
FROM returns r
JOIN orders o ON o.id = r.order_id
LEFT JOIN LATERAL (SELECT sum(quantity) AS units FROM return_lines WHERE return_id = r.id) rl ON true
WHERE r.status <> 'rejected' AND r.created_at >= :start AND r.created_at < :end {return_at}
GROUP BY 1, 2
ORDER BY 1, 2
"""
_RETURN_AT = """
  AND (r.location_code = ANY(:locs) OR o.store_code = ANY(:locs) OR o.pickup_location_code = ANY(:locs))
"""

_POINTS = """
SELECT coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0) AS issued,
       coalesce(-sum(points) FILTER (WHERE kind = 'redeem'), 0) AS redeemed
FROM loyalty_ledger
WHERE occurred_at >= :start AND occurred_at < :end
"""


async def _rows(
    session: AsyncSession, sql: str, start: datetime, end: datetime, locations: Sequence[str] | None, **extra: Any
) -> list[Any]:
    params: dict[str, Any] = {"start": start, "end": end, **extra}
    statement = text(sql)
    if locations is not None:
        params["locs"] = list(locations)
        statement = statement.bindparams(bindparam("locs", type_=ARRAY(String)))
    return list((await session.execute(statement, params)).mappings())


def _where(locations: Sequence[str] | None, clause: str) -> str:
    return clause if locations is not None else ""


async def orders_by_day(
    session: AsyncSession, start: datetime, end: datetime, locations: Sequence[str] | None
) -> list[Any]:
    sql = _ORDERS_BY_DAY.format(
        methods=_PER_ORDER_METHODS,
        method_totals=_METHOD_TOTALS,
        aisle=_AISLE,
        order_at=_where(locations, _ORDER_AT),
    )
    return await _rows(session, sql, start, end, locations)


async def endless_aisle_skus(
    session: AsyncSession, start: datetime, end: datetime, locations: Sequence[str] | None, top: int
) -> list[Any]:
    sql = _ENDLESS_AISLE_SKUS.format(order_at=_where(locations, _ORDER_AT))
    return await _rows(session, sql, start, end, locations, top=top)


async def lead_times(
    session: AsyncSession, start: datetime, end: datetime, locations: Sequence[str] | None
) -> list[Any]:
    sql = _LEAD_TIMES.format(order_at=_where(locations, _ORDER_AT))
    return await _rows(session, sql, start, end, locations)


async def ship_from_store(
    session: AsyncSession, start: datetime, end: datetime, locations: Sequence[str] | None
) -> list[Any]:
    sql = _SHIP_FROM_STORE.format(fo_at=_where(locations, "AND f.location_code = ANY(:locs)"))
    return await _rows(session, sql, start, end, locations)


async def pickup_outcomes(
    session: AsyncSession, start: datetime, end: datetime, locations: Sequence[str] | None
) -> list[Any]:
    sql = _PICKUP_OUTCOMES.format(fo_at=_where(locations, "AND f.location_code = ANY(:locs)"))
    return await _rows(session, sql, start, end, locations)


async def returns_matrix(
    session: AsyncSession, start: datetime, end: datetime, locations: Sequence[str] | None
) -> list[Any]:
    sql = _RETURNS_MATRIX.format(return_at=_where(locations, _RETURN_AT))
    return await _rows(session, sql, start, end, locations)


async def points(session: AsyncSession, start: datetime, end: datetime) -> Any:
    [row] = await _rows(session, _POINTS, start, end, None)
    return row
