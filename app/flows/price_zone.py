"""The price zone of a quote asked over HTTP: the explicit zone, else the pickup store's —
which inventory records (`locations.zone`) and pricing, beside inventory, cannot read —
else `default`. Reads only; runs in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound
from app.pricing import service as pricing


async def price_zone(session: AsyncSession, *, zone: str | None, store: str | None) -> str:
    if zone is not None or store is None:
        return await pricing.resolve_zone(session, zone=zone)
    try:
        location = await inventory.get_location(session, store)
    except LocationNotFound:
        return pricing.DEFAULT_ZONE
    return location.zone or pricing.DEFAULT_ZONE
