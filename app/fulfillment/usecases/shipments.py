"""What a shopper (with their token) and the contact center see of an order's fulfillment:
each fulfillment order with its parcels, tracking links, promised and actual dates. Reads only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import get_settings
from app.fulfillment import repository
from app.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Parcel
from app.fulfillment.schemas import ShipmentLineOut, ShipmentOut, TrackedParcelOut


def tracking_url(carrier: str, tracking_number: str) -> str | None:
    """The carrier's tracking page from OMS_CARRIER_TRACKING_URLS (`carrier=URL{tracking}`)."""
    for pair in get_settings().carrier_tracking_urls.split(","):
        name, _, template = pair.strip().partition("=")
        if name.strip().lower() == carrier.lower() and "{tracking}" in template:
            return template.strip().replace("{tracking}", tracking_number)
    return None


async def shipments_of(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ShipmentOut]]:
    """Every order's fulfillment orders (oldest first), in a fixed number of statements."""
    fos = await repository.fulfillment_orders_of_orders(session, order_ids)
    fo_ids = [fo.id for fo in fos]
    lines = await repository.lines_of(session, fo_ids)
    parcels: dict[uuid.UUID, list[Parcel]] = {}
    for parcel in await repository.parcels_of(session, fo_ids):
        parcels.setdefault(parcel.fulfillment_order_id, []).append(parcel)
    shipped = await repository.first_moves_to(session, order_ids, "shipped")
    out: dict[uuid.UUID, list[ShipmentOut]] = {order_id: [] for order_id in order_ids}
    for fo in fos:
        out[fo.order_id].append(_shipment(fo, lines.get(fo.id, []), parcels.get(fo.id, []), shipped.get(fo.id)))
    return out


def _shipment(
    fo: FulfillmentOrder, lines: Sequence[FulfillmentOrderLine], parcels: Sequence[Parcel], shipped_at: datetime | None
) -> ShipmentOut:
    arrivals = [p.delivered_at for p in parcels]
    delivered_at = max(arrivals) if arrivals and all(a is not None for a in arrivals) else None  # type: ignore[type-var]
    return ShipmentOut(
        fulfillment_order_id=fo.id,
        number=fo.number,
        type=fo.type,
        status=fo.status,
        location_code=fo.location_code,
        deliver_to=fo.deliver_to,
        lines=[ShipmentLineOut(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity) for ln in lines],
        parcels=[
            TrackedParcelOut(
                carrier=p.carrier,
                tracking_number=p.tracking_number,
                tracking_url=tracking_url(p.carrier, p.tracking_number),
                delivered_at=p.delivered_at,
            )
            for p in parcels
        ],
        promised_at=fo.promised_at,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        ready_at=fo.ready_at,
        # Only while it waits or once it lapsed: a collected pickup has no deadline left.
        pickup_expires_at=fo.expires_at if fo.status in ("ready_for_pickup", "expired") else None,
        collected_at=fo.closed_at if fo.status == "collected" else None,
        closed_at=fo.closed_at,
    )
