"""Availability: what storefronts see, what a location has, where an order can be sourced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core.errors import InvalidInput
from app.inventory import repository, rules
from app.inventory.schemas import AvailabilityOut, LocationAvailability, SkuAvailability


async def availability(
    session: AsyncSession,
    *,
    skus: Sequence[str],
    channel: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    pickup_only: bool = False,
) -> AvailabilityOut:
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        raise InvalidInput("name at least one SKU", code="no_skus")
    if len(wanted) > rules.MAX_AVAILABILITY_SKUS:
        raise InvalidInput(f"at most {rules.MAX_AVAILABILITY_SKUS} SKUs per request", code="too_many_skus")
    if (lat is None) != (lon is None):
        raise InvalidInput("give both lat and lon, or neither", code="invalid_point")
    if radius_km is not None and lat is None:
        raise InvalidInput("radius_km needs lat and lon", code="invalid_point")
    facts = await catalog.variant_facts(session, wanted)
    sold = [s for s in wanted if s in facts and facts[s].sold_in(channel)]
    rows = (
        await repository.availability(session, sold, lat=lat, lon=lon, radius_km=radius_km, pickup_only=pickup_only)
        if sold
        else []
    )
    by_sku: dict[str, SkuAvailability] = {}
    for r in rows:
        if r.location_code is None:
            by_sku[r.sku] = SkuAvailability(sku=r.sku, available_to_ship=int(r.available), locations=[])
        else:
            by_sku[r.sku].locations.append(
                LocationAvailability(
                    location=r.location_code,
                    kind=r.kind,
                    available=int(r.available),
                    ships=r.ships,
                    pickup=r.pickup,
                    distance_km=None if r.distance_km is None else round(float(r.distance_km), 2),
                )
            )
    items = []
    for sku in wanted:
        if sku not in facts:
            items.append(SkuAvailability(sku=sku, available_to_ship=0, locations=[], reason="unknown_sku"))
        elif sku not in sold:
            items.append(SkuAvailability(sku=sku, available_to_ship=0, locations=[], reason="not_sold_in_channel"))
        else:
            items.append(by_sku.get(sku) or SkuAvailability(sku=sku, available_to_ship=0, locations=[]))
    return AvailabilityOut(items=items)


async def available_by_location(
    session: AsyncSession, skus: Sequence[str], location_codes: Sequence[str] | None = None
) -> dict[tuple[str, str], int]:
    rows = await repository.available_by_location(session, list(dict.fromkeys(skus)), location_codes)
    return {(r.sku, r.location_code): int(r.available) for r in rows}


class LocationStock(msgspec.Struct, frozen=True, kw_only=True):
    """A location as the sourcing planner sees it, with `available[sku]` (net of reservations
    and safety stock; absent = none, and always absent at an inactive location)."""

    code: str
    kind: str
    latitude: float
    longitude: float
    ships: bool
    pickup: bool
    active: bool
    daily_capacity: int
    available: dict[str, int]


async def sourcing_locations(
    session: AsyncSession,
    skus: Sequence[str],
    *,
    serves: Literal["delivery", "pickup"] | None = None,
    pickup_location: str | None = None,
) -> list[LocationStock]:
    """The locations an order could be sourced from, by code, with their stock of `skus`:
    for a delivery every location (each is explained in the plan) but stock only where it
    ships; for a pickup the store `pickup_location` (if it exists) and the warehouses; with
    `serves=None` every location and its stock."""
    if serves == "pickup" and pickup_location is None:
        raise ValueError("a pickup is served from its pickup_location")
    rows = await repository.sourcing_locations(session, list(dict.fromkeys(skus)), serves or "any", pickup_location)
    return [
        LocationStock(
            code=r[0],
            kind=r[1],
            latitude=r[2],
            longitude=r[3],
            ships=r[4],
            pickup=r[5],
            active=r[6],
            daily_capacity=r[7],
            available=dict(zip(r[8], r[9], strict=True)) if r[8] is not None else {},
        )
        for r in rows
    ]
