"""Statements of availability: storefronts, per location, and where an order can be sourced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.inventory.repository.common import AVAILABLE


def _distance(lat: str, lon: str) -> str:
    """Great-circle km from ($lat, $lon) to location `l` (the same formula as rules.distance_km)."""
    return (
        f"2 * 6371.0088 * asin(least(1, sqrt(power(sin(radians(l.latitude - {lat}) / 2), 2) + "
        f"cos(radians({lat})) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - {lon}) / 2), 2))))"
    )


class _Args:
    """Positional driver parameters, numbered as they are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"CAST(${len(self.values)} AS {cast})"


async def availability(
    session: AsyncSession,
    skus: Sequence[str],
    *,
    lat: float | None,
    lon: float | None,
    radius_km: float | None,
    pickup_only: bool,
    limit: int,
    after: tuple[Any, ...] | None = None,
) -> list[Any]:
    """One statement on the driver for all SKUs. A row per SKU: (sku, total available to ship
    from every active shipping location, codes[], available[]: its stock at the page's
    locations in page order), then one row (sku NULL) whose `page` is the JSON list of the
    page's locations with their promise settings: the first `limit + 1` locations holding any
    of the SKUs (nearest first with a point, else by code; after the keyset `after`:
    (distance, code) or (code,)), within the radius, pickup stores only if asked.

    The SKUs' stock rows are read once through the (sku, location) key — each SKU's rows sit
    together — and serve both the totals and the page; the distance is computed per
    location; a SKU's entries come back as two arrays, not a row each (a page of 20
    locations x 50 SKUs is 50 rows, not 1,000)."""
    arg = _Args()
    sku_list = arg(list(skus), "text[]")
    point = lat is not None and lon is not None
    distance = _distance(arg(lat, "float8"), arg(lon, "float8")) if point else "CAST(NULL AS float8)"
    where = ["l.active", "l.code IN (SELECT location_code FROM r WHERE available > 0)"]
    if pickup_only:
        where.append("l.pickup")
    filters = ["true"]
    if radius_km is not None and point:
        filters.append(f"o.distance_km <= {arg(radius_km, 'float8')}")
    if after is not None and point:
        filters.append(f"(o.distance_km, o.code) > ({arg(after[0], 'float8')}, {arg(after[1], 'text')})")
    elif after is not None:
        filters.append(f"o.code > {arg(after[0], 'text')}")
    order = "distance_km, code" if point else "code"
    sql = f"""
    WITH r AS MATERIALIZED (
        SELECT s.sku, s.location_code, l.ships, {AVAILABLE} AS available
        FROM stock_levels s JOIN locations l ON l.code = s.location_code
        WHERE s.sku = ANY({sku_list}) AND l.active
    ),
    page AS MATERIALIZED (
        SELECT o.* FROM (
            SELECT l.code, l.kind, l.ships, l.pickup, {distance} AS distance_km,
                   l.time_zone, l.order_cutoff, l.handling_hours, l.transit_days, l.transit_days_by_country,
                   l.shipping_days
            FROM locations l WHERE {" AND ".join(where)}
        ) o
        WHERE {" AND ".join(filters)}
        ORDER BY {order}
        LIMIT {arg(limit + 1, "int")}
    )
    SELECT r.sku, coalesce(sum(r.available) FILTER (WHERE r.ships), 0)::bigint AS total,
           array_agg(p.code ORDER BY p.distance_km, p.code) FILTER (WHERE p.code IS NOT NULL AND r.available > 0)
               AS codes,
           array_agg(r.available ORDER BY p.distance_km, p.code) FILTER (WHERE p.code IS NOT NULL AND r.available > 0)
               AS available,
           NULL::text AS page
    FROM r LEFT JOIN page p ON p.code = r.location_code
    GROUP BY r.sku
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, coalesce(json_agg(page ORDER BY {order}), '[]')::text FROM page
    """
    return await db.fetch(session, sql, *arg.values)


async def available_by_location(
    session: AsyncSession, skus: Sequence[str], location_codes: Sequence[str] | None
) -> list[Row[Any]]:
    where = "s.sku = ANY(CAST(:skus AS text[])) AND l.active"
    params: dict[str, Any] = {"skus": list(skus)}
    if location_codes is not None:
        where += " AND s.location_code = ANY(CAST(:codes AS text[]))"
        params["codes"] = list(location_codes)
    sql = (
        f"SELECT s.sku, s.location_code, {AVAILABLE} AS available FROM stock_levels s "
        f"JOIN locations l ON l.code = s.location_code WHERE {where}"
    )
    return list((await session.execute(text(sql), params)).all())


# Where an order could be sourced from, with what those locations have of its SKUs: one
# driver statement per placement. `{locations}` narrows the locations, `{stocked}` the
# stock rows read (only where the planner could take them).
_SOURCING_LOCATIONS = f"""
WITH stock AS (
    SELECT s.location_code, array_agg(s.sku) AS skus, array_agg({AVAILABLE}) AS available
    FROM stock_levels s JOIN locations l ON l.code = s.location_code
    WHERE s.sku = ANY(CAST($1 AS text[])) AND l.active AND {{stocked}}
    GROUP BY s.location_code
)
SELECT l.code, l.kind, l.latitude, l.longitude, l.ships, l.pickup, l.active, l.daily_capacity,
       stock.skus, stock.available
FROM locations l LEFT JOIN stock ON stock.location_code = l.code
WHERE {{locations}}
ORDER BY l.code
"""


_PICKUP = "(l.code = CAST($2 AS text) OR l.kind = 'warehouse')"


SOURCING_STATEMENTS = {
    # The explanation of a delivery's plan names every location; only shipping ones serve it.
    "delivery": _SOURCING_LOCATIONS.format(locations="true", stocked="l.ships"),
    # A pickup is served by its store, or by warehouses shipping to it.
    "pickup": _SOURCING_LOCATIONS.format(locations=_PICKUP, stocked=_PICKUP),
    "any": _SOURCING_LOCATIONS.format(locations="true", stocked="true"),
}


async def sourcing_locations(
    session: AsyncSession, skus: Sequence[str], serves: str, pickup_location: str | None
) -> list[Any]:
    """Rows (code, kind, latitude, longitude, ships, pickup, active, daily_capacity, skus,
    available) by code; `skus`/`available` are parallel arrays, NULL without stock rows.
    `serves` is a key of SOURCING_STATEMENTS."""
    sql = SOURCING_STATEMENTS[serves]
    if serves == "pickup":
        return await db.fetch(session, sql, list(skus), pickup_location)
    return await db.fetch(session, sql, list(skus))
