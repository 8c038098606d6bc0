"""The kiosk's endless aisle: "this style in all sizes — here, nearby, or delivered".

Reads only, in the request's transaction. Catalog gives the style's sizes (its variants),
inventory the store's own position and the available-to-promise of every size at every
location, nearest first from the store. Each size then answers, in the order a shopper at
the kiosk is offered them: here (on this store's shelf now), nearby (other pickup stores
within `radius_km` that hold it, nearest first: order for pickup there), delivery (what
the shipping locations can send). `best` names the first of these that has one. Each comes
with its promise for an order placed now (README "Delivery promise"): ready here by, ready
at each nearby store by, delivered by (the earliest of the shipping locations holding it).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.schema import Out
from app.flows import delivery_promise
from app.inventory import service as inventory
from app.inventory.schemas import SkuAvailability


class StoreRequired(InvalidInput):
    code, title = "store_required", "Name the store (store=CODE): this key has none"


Best = Literal["here", "nearby", "delivery", "unavailable"]


class NearbyStore(Out):
    location: str
    available: int
    distance_km: float | None
    ready_by: datetime | None = None  # an order for pickup there placed now is ready by


class AisleSize(Out):
    sku: str
    size: str | None
    color: str | None
    barcode: str | None
    here: int  # available on this store's shelf now
    here_ready_by: datetime | None  # ordered now for pickup here: ready by (null when none here)
    nearby: list[NearbyStore]  # pickup stores within radius_km holding it, nearest first
    delivery: int  # what the shipping locations can send
    delivery_by: date | None  # the earliest delivery day of a shipping location holding it
    best: Best
    reason: str | None  # not_sold_in_channel: the caller's channel does not sell it


class AisleOut(Out):
    product_id: uuid.UUID
    product_name: str
    store: str
    radius_km: float
    sizes: list[AisleSize]


async def endless_aisle(
    session: AsyncSession, principal: Principal, product_id: uuid.UUID, *, store: str | None, radius_km: float
) -> AisleOut:
    """`store`: the one named, else the key's own (a kiosk's or till's)."""
    store = store or principal.location_code
    if store is None:
        raise StoreRequired("a key without a store names one", field="store")
    principal.require_location(store)
    product = await catalog.get_product(session, product_id)
    here = await inventory.get_location(session, store)
    found = await inventory.availability(
        session,
        skus=[v.sku for v in product.variants],
        channel=principal.channel.value if principal.channel else None,
        lat=here.latitude,
        lon=here.longitude,
        radius_km=radius_km,
        limit=inventory.MAX_AVAILABILITY_LOCATIONS,
    )
    by_sku = {item.sku: item for item in found.items}
    now = clock.now()
    here_ready = (await delivery_promise.pickup_ready_times(session, [store], now)).get(store)
    delivery_days = await delivery_promise.earliest_delivery(session, [v.sku for v in product.variants], now)
    sizes = [_size(v.sku, v.size, v.color, v.barcode, by_sku.get(v.sku), store, radius_km) for v in product.variants]
    sizes = [
        msgspec.structs.replace(
            s,
            here_ready_by=here_ready if s.here > 0 else None,
            delivery_by=delivery_days.get(s.sku) if s.delivery > 0 else None,
        )
        for s in sizes
    ]
    return AisleOut(product_id=product.id, product_name=product.name, store=store, radius_km=radius_km, sizes=sizes)


def _size(
    sku: str,
    size: str | None,
    color: str | None,
    barcode: str | None,
    found: SkuAvailability | None,
    store: str,
    radius_km: float,
) -> AisleSize:
    locations = found.locations if found else []
    on_shelf = sum(loc.available for loc in locations if loc.location == store)
    nearby = [
        NearbyStore(location=loc.location, available=loc.available, distance_km=loc.distance_km, ready_by=loc.ready_by)
        for loc in locations
        if loc.location != store
        and loc.pickup
        and loc.available > 0
        and (loc.distance_km is None or loc.distance_km <= radius_km)
    ]
    delivery = found.available_to_ship if found else 0
    best: Best = "here" if on_shelf > 0 else "nearby" if nearby else "delivery" if delivery > 0 else "unavailable"
    return AisleSize(
        sku=sku,
        size=size,
        color=color,
        barcode=barcode,
        here=on_shelf,
        here_ready_by=None,
        nearby=nearby,
        delivery=delivery,
        delivery_by=None,
        best=best,
        reason=found.reason if found else "unknown_sku",
    )
