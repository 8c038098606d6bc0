"""Locations: warehouses and stores, their capabilities and time zones."""

from __future__ import annotations

import zoneinfo
from datetime import time

from msgspec import UNSET, structs
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.pagination import Keyset, Page
from app.inventory import repository, rules
from app.inventory.errors import InvalidLocation, LocationExists, LocationInUse, LocationNotFound
from app.inventory.models import Location
from app.inventory.schemas import LocationCreate, LocationOut, LocationUpdate

LOCATIONS = Keyset("locations", str)


def _location_out(loc: Location) -> LocationOut:
    return LocationOut(
        code=loc.code,
        name=loc.name,
        kind=loc.kind,
        address=loc.address,
        latitude=loc.latitude,
        longitude=loc.longitude,
        time_zone=loc.time_zone,
        ships=loc.ships,
        pickup=loc.pickup,
        accepts_returns=loc.accepts_returns,
        daily_capacity=loc.daily_capacity,
        default_safety_stock=loc.default_safety_stock,
        zone=loc.zone,
        active=loc.active,
        order_cutoff=loc.order_cutoff.strftime("%H:%M"),
        handling_hours=loc.handling_hours,
        transit_days=loc.transit_days,
        transit_days_by_country=dict(loc.transit_days_by_country),
        shipping_days=sorted(loc.shipping_days),
    )


def _check_promise(loc: Location) -> None:
    problem = rules.promise_terms_problem(loc.order_cutoff, loc.shipping_days, loc.transit_days_by_country)
    if problem:
        raise InvalidLocation(problem, code="invalid_promise_settings")


def promise_terms(loc: Location) -> rules.PromiseTerms:
    return rules.PromiseTerms(
        time_zone=loc.time_zone,
        order_cutoff=loc.order_cutoff,
        handling_hours=loc.handling_hours,
        transit_days=loc.transit_days,
        shipping_days=tuple(loc.shipping_days),
        transit_days_by_country=dict(loc.transit_days_by_country),
    )


def _check_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidLocation(f"unknown time zone {name!r}", code="invalid_time_zone") from None


async def get_location(session: AsyncSession, code: str) -> LocationOut:
    loc = await repository.location(session, code)
    if loc is None:
        raise LocationNotFound(f"no location {code!r}")
    return _location_out(loc)


async def list_locations(
    session: AsyncSession, kind: str | None = None, ships: bool | None = None, pickup: bool | None = None
) -> list[LocationOut]:
    rows = await repository.list_locations(session, kind=kind, ships=ships, pickup=pickup, after=None, limit=None)
    return [_location_out(loc) for loc in rows]


async def list_locations_page(
    session: AsyncSession, *, kind: str | None, ships: bool | None, pickup: bool | None, limit: int, cursor: str | None
) -> Page[LocationOut]:
    after = LOCATIONS.after(cursor)
    rows = await repository.list_locations(
        session, kind=kind, ships=ships, pickup=pickup, after=after[0] if after else None, limit=limit + 1
    )
    return LOCATIONS.page([_location_out(loc) for loc in rows], limit, lambda o: [o.code])


async def create_location(session: AsyncSession, body: LocationCreate) -> LocationOut:
    _check_time_zone(body.time_zone)
    defaults = rules.default_capabilities(body.kind)
    ships = defaults.ships if body.ships is None else body.ships
    pickup = defaults.pickup if body.pickup is None else body.pickup
    problem = rules.capability_problem(body.kind, ships, pickup)
    if problem:
        raise InvalidLocation(problem)
    now = clock.now()
    loc = Location(
        code=body.code,
        name=body.name,
        kind=body.kind,
        address=body.address,
        latitude=body.latitude,
        longitude=body.longitude,
        time_zone=body.time_zone,
        ships=ships,
        pickup=pickup,
        accepts_returns=defaults.accepts_returns if body.accepts_returns is None else body.accepts_returns,
        daily_capacity=body.daily_capacity or defaults.daily_capacity,
        default_safety_stock=body.default_safety_stock,
        zone=body.zone,
        active=True,
        order_cutoff=time.fromisoformat(body.order_cutoff),
        handling_hours=body.handling_hours,
        transit_days=body.transit_days,
        transit_days_by_country=dict(body.transit_days_by_country),
        shipping_days=sorted(body.shipping_days),
        created_at=now,
        updated_at=now,
    )
    _check_promise(loc)
    if not await repository.add_location(session, loc):
        raise LocationExists(f"location {body.code!r} exists")
    return _location_out(loc)


async def update_location(session: AsyncSession, code: str, body: LocationUpdate) -> LocationOut:
    loc = await repository.location(session, code, lock=True)
    if loc is None:
        raise LocationNotFound(f"no location {code!r}")
    if body.time_zone is not UNSET:
        _check_time_zone(body.time_zone)
    for field in structs.fields(body):
        value = getattr(body, field.name)
        if value is not UNSET:
            setattr(loc, field.name, time.fromisoformat(value) if field.name == "order_cutoff" else value)
    problem = rules.capability_problem(loc.kind, loc.ships, loc.pickup)
    if problem:
        raise InvalidLocation(problem)
    _check_promise(loc)
    loc.updated_at = clock.now()
    await session.flush()
    return _location_out(loc)


async def delete_location(session: AsyncSession, code: str) -> None:
    loc = await repository.location(session, code, lock=True)
    if loc is None:
        raise LocationNotFound(f"no location {code!r}")
    if await repository.location_in_use(session, code):
        raise LocationInUse("a location with stock history cannot be deleted; deactivate it (active=false)")
    await repository.delete_location(session, loc)
