"""Availability: what storefronts see, what a location has, where an order can be sourced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
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
    page = next((_PAGE.decode(r["page"]) for r in rows if r["sku"] is None), [])
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
        next_cursor = keyset.encode([last.distance_km, last.code] if lat is not None else [last.code], scope=scope)
    return AvailabilityOut(items=items, next_cursor=next_cursor)


class PageLocation(msgspec.Struct, frozen=True):
    """A location of the answer's page, with its promise settings (the statement's JSON)."""

    code: str
    kind: str
    ships: bool
    pickup: bool
    distance_km: float | None
    time_zone: str
    order_cutoff: time
    handling_hours: int
    transit_days: int
    transit_days_by_country: dict[str, int]
    shipping_days: list[int]


_PAGE = msgspec.json.Decoder(list[PageLocation])


def _shape(
    rows: Sequence[Any], page: list[PageLocation], now: datetime, country: str | None
) -> dict[str, SkuAvailability]:
    """Per SKU its total and its entries at the page's locations (page order), each with the
    location's promise, computed once per location."""
    shown = {loc.code: _entry(loc, now, country) for loc in page}
    by_sku: dict[str, SkuAvailability] = {}
    for r in rows:
        if r["sku"] is None:
            continue
        entries = [
            msgspec.structs.replace(shown[code], available=units)
            for code, units in zip(r["codes"] or (), r["available"] or (), strict=True)
            if code in shown
        ]
        by_sku[r["sku"]] = SkuAvailability(sku=r["sku"], available_to_ship=int(r["total"]), locations=entries)
    return by_sku


def _entry(loc: PageLocation, now: datetime, country: str | None) -> LocationAvailability:
    """The location's entry (its `available` filled per SKU), with the promise of an order now."""
    terms = rules.PromiseTerms(
        time_zone=loc.time_zone,
        order_cutoff=loc.order_cutoff,
        handling_hours=loc.handling_hours,
        transit_days=loc.transit_days,
        shipping_days=tuple(loc.shipping_days),
        transit_days_by_country=loc.transit_days_by_country,
    )
    return LocationAvailability(
        location=loc.code,
        kind=loc.kind,
        available=0,
        ships=loc.ships,
        pickup=loc.pickup,
        distance_km=None if loc.distance_km is None else round(loc.distance_km, 2),
        ready_by=rules.pickup_ready_by(now, terms) if loc.pickup else None,
        delivery_by=rules.delivered_by(now, terms, country) if loc.ships else None,
    )


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
