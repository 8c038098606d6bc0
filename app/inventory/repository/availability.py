"""Statements of availability: storefronts, per location, and where an order can be sourced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.inventory.repository.common import AVAILABLE

_DISTANCE = (
    "2 * 6371.0088 * asin(least(1, sqrt(power(sin(radians(l.latitude - :lat) / 2), 2) + "
    "cos(radians(:lat)) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - :lon) / 2), 2))))"
)


_AFTER_NEAR = "(o.distance_km, o.code) > (CAST(:after_distance AS double precision), CAST(:after_code AS text))"


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
    location_codes: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """One statement for all SKUs: per SKU a total row (location NULL: available to ship
    from every active shipping location), then the rows of one page of locations: the
    first `limit + 1` locations (nearest first with a point, else by code; after the keyset
    `after`: (distance, code) or (code,)) holding any of the SKUs, within the radius,
    pickup stores only if asked. Each location row carries its promise settings.

    The SKUs' stock rows are read once through the (sku, location) key — each SKU's rows
    sit together — and serve both the totals and the page; the distance is computed per
    location, and only the page's locations are sorted and returned."""
    point = lat is not None and lon is not None
    distance = _DISTANCE if point else "CAST(NULL AS double precision)"
    filters = ["true"]
    if radius_km is not None and point:
        filters.append("o.distance_km <= :radius")
    if after is not None:
        filters.append(_AFTER_NEAR if point else "o.code > CAST(:after_code AS text)")
    location_filters = ["l.active", "l.code IN (SELECT location_code FROM r WHERE available > 0)"]
    if pickup_only:
        location_filters.append("l.pickup")
    if location_codes is not None:
        location_filters.append("l.code = ANY(CAST(:codes AS text[]))")
    order = "distance_km, code" if point else "code"
    sql = f"""
    WITH r AS MATERIALIZED (
        SELECT s.sku, s.location_code, l.ships, {AVAILABLE} AS available
        FROM stock_levels s JOIN locations l ON l.code = s.location_code
        WHERE s.sku = ANY(CAST(:skus AS text[])) AND l.active
    ),
    page AS MATERIALIZED (
        SELECT o.* FROM (
            SELECT l.code, l.kind, l.ships, l.pickup, {distance} AS distance_km,
                   l.time_zone, l.order_cutoff, l.handling_hours, l.transit_days, l.transit_days_by_country,
                   l.shipping_days
            FROM locations l WHERE {" AND ".join(location_filters)}
        ) o
        WHERE {" AND ".join(filters)}
        ORDER BY {order}
        LIMIT :limit
    )
    SELECT sku, NULL AS location_code, NULL AS kind, NULL AS ships, NULL AS pickup,
           coalesce(sum(available) FILTER (WHERE ships), 0) AS available, NULL AS distance_km, 0 AS part,
           NULL AS time_zone, NULL AS order_cutoff, NULL AS handling_hours, NULL AS transit_days,
           NULL AS transit_days_by_country, NULL AS shipping_days
    FROM r GROUP BY sku
    UNION ALL
    SELECT r.sku, p.code, p.kind, p.ships, p.pickup, r.available, p.distance_km, 1,
           p.time_zone, p.order_cutoff, p.handling_hours, p.transit_days, p.transit_days_by_country, p.shipping_days
    FROM page p JOIN r ON r.location_code = p.code
    WHERE r.available > 0
    """
    params: dict[str, Any] = {"skus": list(skus), "lat": lat, "lon": lon, "radius": radius_km, "limit": limit + 1}
    if after is not None:
        params["after_code"] = after[-1]
        if point:
            params["after_distance"] = after[0]
    if location_codes is not None:
        params["codes"] = list(location_codes)
    return list((await session.execute(text(sql), params)).all())


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
