"""A variant as a shopper sees it: the catalog's variant with the price in force.

Reads only, in the request's transaction. Catalog gives the variant (404 `unknown_sku`),
pricing the price in force — the zone's own, else the default zone's, as a quote prices
it — with the next scheduled change for staff keys, never the history. Keys on shoppers'
devices (storefront, kiosk) do not see scheduled prices (the rule of `GET /v1/prices`):
their `next_amount` / `next_valid_from` are null. The zone: the one asked for, else
the store of a kiosk or POS key (its price zone), else `default`.
"""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.catalog.schemas import VariantDetail
from app.core.auth import Principal, Role
from app.core.schema import Out
from app.core.settings import get_settings
from app.flows.quote import price_zone
from app.pricing import service as pricing
from app.pricing.schemas import PriceInForceOut


class VariantOfferOut(Out):
    variant: VariantDetail
    price: PriceInForceOut


async def variant_offer(
    session: AsyncSession, principal: Principal, sku: str, *, zone: str | None, currency: str | None
) -> VariantOfferOut:
    variant = await catalog.get_variant(session, sku)
    in_zone = await price_zone(session, zone=zone, store=principal.location_code)
    price = await pricing.price_in_force(
        session, variant.sku, zone=in_zone, currency=currency or get_settings().currency
    )
    if principal.role in SHOPPER_FACING:
        price = msgspec.structs.replace(price, next_amount=None, next_valid_from=None)
    return VariantOfferOut(variant=variant, price=price)


# Keys that sit on shoppers' devices, where a key can be extracted (as app/pricing/controllers/common.py).
SHOPPER_FACING = frozenset({Role.STOREFRONT, Role.KIOSK})
