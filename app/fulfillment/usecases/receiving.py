"""A store receives a ship-to-store parcel itself: the associate scans its tracking number at
the back door. It counts as the carrier's "delivered" for that parcel (the same path, keyed by
the parcel, so a second scan or the carrier's own event later changes nothing): the transfer is
received into the store's stock and the units are reserved for the pickup they feed
(`app/flows/fulfillment_progress.receive_parcel`)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.fulfillment import repository
from app.fulfillment.errors import AmbiguousParcel, UnknownParcel
from app.fulfillment.models import Parcel
from app.fulfillment.schemas import CarrierEventBody, FulfillmentOrderOut, ParcelScan
from app.fulfillment.usecases.common import fo_out, rules_in_force


async def parcel_bound_for(session: AsyncSession, principal: Principal, scan: ParcelScan) -> CarrierEventBody:
    """The scanned parcel as its carrier's "delivered" event. A location-bound key finds only
    parcels bound for its own store (another store's, or a warehouse's key: 404, as if there
    were none)."""
    parcels = await repository.parcels_to(session, scan.tracking_number, principal.location_code)
    if scan.carrier is not None:
        parcels = [p for p in parcels if p.carrier == scan.carrier]
    if not parcels:
        raise UnknownParcel(f"no parcel {scan.tracking_number} on its way to this store")
    if len(parcels) > 1:
        raise AmbiguousParcel("several carriers use this tracking number: name the carrier", field="carrier")
    [parcel] = parcels
    return CarrierEventBody(
        carrier=parcel.carrier,
        event_id=f"received-at-store:{parcel.fulfillment_order_id}:{parcel.tracking_number}",
        tracking_number=parcel.tracking_number,
        status="delivered",
    )


async def parcels_arriving(
    session: AsyncSession, principal: Principal, store: str, limit: int = 100
) -> list[FulfillmentOrderOut]:
    """The ship-to-store parcels on their way to `store` (shipped, not received yet), oldest
    first: what the back door expects. A location-bound key sees its own store's only."""
    principal.require_location(store)
    rows = await repository.inbound_to_store(session, store, limit)
    lines = await repository.lines_of(session, [fo.id for fo in rows])
    by_fo: dict[uuid.UUID, list[Parcel]] = {}
    for parcel in await repository.parcels_of(session, [fo.id for fo in rows]):
        by_fo.setdefault(parcel.fulfillment_order_id, []).append(parcel)
    _, current = await rules_in_force(session)
    return [fo_out(fo, lines[fo.id], by_fo.get(fo.id, []), current.pickup_max_attempts) for fo in rows]
