"""The price in force of one SKU: what a storefront or kiosk shows next to the variant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.pricing.errors import PriceNotFound
from app.pricing.models import DEFAULT_ZONE
from app.pricing.repository.in_force import prices_around
from app.pricing.schemas import PriceInForceOut
from app.pricing.usecases.quoting import check_currency


async def price_in_force(
    session: AsyncSession, sku: str, *, zone: str, currency: str, now: datetime | None = None
) -> PriceInForceOut:
    """The zone's own price in force at `now`, else the default zone's (the quote's rule);
    the next scheduled price of that zone alongside. 422 `price_not_found` when none is."""
    at = now or clock.now()
    check_currency(currency)
    zones = [zone] if zone == DEFAULT_ZONE else [zone, DEFAULT_ZONE]
    current, upcoming = await prices_around(session, sku, zones, currency, at)
    by_zone = {p.zone_code: p for p in current}
    price = by_zone.get(zone) or by_zone.get(DEFAULT_ZONE)
    if price is None:
        raise PriceNotFound(f"no price in force for {sku} in {currency}", sku=sku)
    following = {p.zone_code: p for p in upcoming}
    # A price the zone gets of its own takes over from the default zone's as well.
    nxt = following.get(zone) or following.get(price.zone_code)
    return PriceInForceOut(
        sku=sku,
        zone=zone,
        priced_in_zone=price.zone_code,
        currency=currency,
        amount=price.amount,
        compare_at_amount=price.compare_at_amount,
        valid_from=price.valid_from,
        next_amount=nxt.amount if nxt else None,
        next_valid_from=nxt.valid_from if nxt else None,
    )
