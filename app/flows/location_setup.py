"""Setting up a location: inventory keeps the location, pricing the zone its orders are priced in.

A location's `zone` names a price zone; one that does not exist would make every order
through the location answer 422 `unknown_zone` later, far from the mistake. So creating or
changing a location checks the zone with pricing first (inventory may not call pricing) and
refuses with 422 `unknown_price_zone` naming the field `zone`. In the request's transaction;
writes nothing when refused.
"""

from __future__ import annotations

from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory import service as inventory
from app.inventory.errors import UnknownPriceZone
from app.inventory.schemas import LocationCreate, LocationOut, LocationUpdate
from app.pricing import service as pricing


async def create_location(session: AsyncSession, body: LocationCreate) -> LocationOut:
    await _check_zone(session, body.zone)
    return await inventory.create_location(session, body)


async def update_location(session: AsyncSession, code: str, body: LocationUpdate) -> LocationOut:
    if body.zone is not UNSET:
        await _check_zone(session, body.zone)
    return await inventory.update_location(session, code, body)


async def _check_zone(session: AsyncSession, zone: str | None) -> None:
    if zone is not None and not await pricing.zone_exists(session, zone):
        raise UnknownPriceZone(f"no price zone {zone!r}; create it first (POST /v1/price-zones)", field="zone")
