"""Availability: what storefronts see, what a location has, where an order can be sourced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock
from app.core.errors import InvalidInput
from app.core.pagination import Keyset
from app.inventory import repository, rules
from app.inventory.schemas import AvailabilityOut, LocationAvailability, SkuAvailability

# A bounded answer (README "Availability"): at most this many locations, nearest first with a
# point, else by code, and a cursor to the next ones.
DEFAULT_AVAILABILITY_LOCATIONS = 20
MAX_AVAILABILITY_LOCATIONS = 100
BY_CODE = Keyset("availability", str)
NEAREST = Keyset("availability-near", float, str)


async def availability(
    session: AsyncSession,
    *,
    skus: Sequence[str],
    channel: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    pickup_only: bool = False,
    limit: int = DEFAULT_AVAILABILITY_LOCATIONS,
    cursor: str | None = None,
    country: str | None = None,
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
    if not 1 <= limit <= MAX_AVAILABILITY_LOCATIONS:
        raise InvalidInput(f"limit is 1 to {MAX_AVAILABILITY_LOCATIONS} locations", code="invalid_limit")
    keyset, scope = (NEAREST, f"{lat},{lon}") if lat is not None else (BY_CODE, "")
    after = keyset.after(cursor, scope=scope)
    facts = await catalog.variant_facts(session, wanted)
    sold = [s for s in wanted if s in facts and facts[s].sold_in(channel)]
    rows = (
        await repository.availability(
            session, sold, lat=lat, lon=lon, radius_km=radius_km, pickup_only=pickup_only, limit=limit, after=after
        )
        if sold
        else []
    )
    page = _page_of_locations(rows, limit)
    by_sku = _shape(rows, page[:limit], clock.now(), country)
    items = []
    for sku in wanted:
        if sku not in facts:
            items.append(SkuAvailability(sku=sku, available_to_ship=0, locations=[], reason="unknown_sku"))
        elif sku not in sold:
            items.append(SkuAvailability(sku=sku, available_to_ship=0, locations=[], reason="not_sold_in_channel"))
        else:
            items.append(by_sku.get(sku) or SkuAvailability(sku=sku, available_to_ship=0, locations=[]))
    next_cursor = None
    if len(page) > limit:
        last = page[limit - 1]
        next_cursor = keyset.encode([last[0], last[1]] if lat is not None else [last[1]], scope=scope)
    return AvailabilityOut(items=items, next_cursor=next_cursor)


def _page_of_locations(rows: Sequence[Any], limit: int) -> list[tuple[float, str]]:
    """The page's locations in page order, (distance, code): the statement returns up to
    `limit + 1` of them (one more tells that a next page exists)."""
    seen = {(float(r.distance_km or 0.0), r.location_code) for r in rows if r.location_code is not None}
    return sorted(seen)


def _shape(
    rows: Sequence[Any], page: list[tuple[float, str]], now: datetime, country: str | None
) -> dict[str, SkuAvailability]:
    shown = {code for _, code in page}
    promises: dict[str, tuple[datetime | None, date | None]] = {}
    by_sku: dict[str, SkuAvailability] = {}
    for r in rows:
        item = by_sku.get(r.sku)
        if item is None:
            item = by_sku[r.sku] = SkuAvailability(sku=r.sku, available_to_ship=0, locations=[])
        if r.location_code is None:
            item.available_to_ship = int(r.available)
            continue
        if r.location_code not in shown:
            continue
        if r.location_code not in promises:
            promises[r.location_code] = _promise(r, now, country)
        ready_by, delivery_by = promises[r.location_code]
        item.locations.append(
            LocationAvailability(
                location=r.location_code,
                kind=r.kind,
                available=int(r.available),
                ships=r.ships,
                pickup=r.pickup,
                distance_km=None if r.distance_km is None else round(float(r.distance_km), 2),
                ready_by=ready_by,
                delivery_by=delivery_by,
            )
        )
    for item in by_sku.values():
        item.locations.sort(key=lambda loc: (loc.distance_km or 0.0, loc.location))
    return by_sku


def _promise(row: Any, now: datetime, country: str | None) -> tuple[datetime | None, date | None]:
    terms = rules.PromiseTerms(
        time_zone=row.time_zone,
        order_cutoff=row.order_cutoff,
        handling_hours=row.handling_hours,
        transit_days=row.transit_days,
        shipping_days=tuple(row.shipping_days),
        transit_days_by_country=row.transit_days_by_country,
    )
    ready_by = rules.pickup_ready_by(now, terms) if row.pickup else None
    delivery_by = rules.delivered_by(now, terms, country) if row.ships else None
    return ready_by, delivery_by


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
