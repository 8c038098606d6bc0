"""Statements of availability: storefronts, per location, and where an order can be sourced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.inventory.repository.common import AVAILABLE


async def availability(
    session: AsyncSession,
    skus: Sequence[str],
    *,
    lat: float | None,
    lon: float | None,
    radius_km: float | None,
    pickup_only: bool,
    location_codes: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """One statement for all SKUs: per SKU a total row (location NULL: available to ship
    from every shipping location) followed by its per-location rows (available > 0,
    within the radius, pickup stores only if asked), nearest first. Stock rows are found
    through the (sku, location) primary key; the distance is computed per location,
    which is cheap because locations are few."""
    distance = (
        "2 * 6371.0088 * asin(least(1, sqrt(power(sin(radians(l.latitude - :lat) / 2), 2) + "
        "cos(radians(:lat)) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - :lon) / 2), 2))))"
        if lat is not None and lon is not None
        else "CAST(NULL AS double precision)"
    )
    filters = ["r.available > 0"]
    if radius_km is not None and lat is not None:
        filters.append("r.distance_km <= :radius")
    if pickup_only:
        filters.append("r.pickup")
    if location_codes is not None:
        filters.append("r.location_code = ANY(CAST(:codes AS text[]))")
    sql = f"""
    WITH r AS (
        SELECT s.sku, s.location_code, l.kind, l.ships, l.pickup, {AVAILABLE} AS available, {distance} AS distance_km
        FROM stock_levels s JOIN locations l ON l.code = s.location_code
        WHERE s.sku = ANY(CAST(:skus AS text[])) AND l.active
    )
    SELECT sku, NULL AS location_code, NULL AS kind, NULL AS ships, NULL AS pickup,
           coalesce(sum(available) FILTER (WHERE ships), 0) AS available, NULL AS distance_km, 0 AS part
    FROM r GROUP BY sku
    UNION ALL
    SELECT sku, location_code, kind, ships, pickup, available, distance_km, 1 AS part
    FROM r WHERE {" AND ".join(filters)}
    ORDER BY sku, part, distance_km NULLS LAST, location_code
    """
    params: dict[str, Any] = {"skus": list(skus), "lat": lat, "lon": lon, "radius": radius_km}
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
