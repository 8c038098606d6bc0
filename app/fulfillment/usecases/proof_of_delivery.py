"""A till's proof of delivery: the customer presents a parcel the carrier has not reported
delivered (README "Decisions behind these": holding the goods is proof)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.fulfillment import repository
from app.fulfillment.errors import NotShipped
from app.fulfillment.models import FulfillmentOrder
from app.fulfillment.usecases.common import OrderNews, move
from app.fulfillment.usecases.lifecycle import delivered_so_far


async def presented_at_store(
    session: AsyncSession,
    principal: Principal,
    order_id: uuid.UUID,
    units: Mapping[int, int],
    store: str,
    *,
    news: OrderNews,
) -> None:
    """The customer presents `units` ({line no: units}) of a shipped parcel at `store`'s till:
    holding them is proof of delivery. The shipped `delivery` fulfillment orders carrying them
    (oldest first) are recorded delivered with all their parcels — the carrier reports per
    parcel, and a parcel's contents are not itemized — and the order learns every unit
    delivered so far (in `news`). Units no shipped parcel carries: 422 `not_shipped`, nothing
    written. The caller holds the order's row lock."""
    needed = {str(no): qty for no, qty in units.items() if qty > 0}
    shipped = [fo for fo in await repository.fulfillment_orders_of(session, order_id, lock=True) if _in_transit(fo)]
    lines = await repository.lines_of(session, [fo.id for fo in shipped])
    chosen: list[FulfillmentOrder] = []
    for fo in sorted(shipped, key=lambda f: (f.created_at, f.number)):
        carried = {ln.line_id: ln.picked_quantity for ln in lines[fo.id] if needed.get(ln.line_id, 0) > 0}
        if not any(carried.values()):
            continue
        chosen.append(fo)
        for line_id, qty in carried.items():
            needed[line_id] = max(needed[line_id] - qty, 0)
    missing = {no: qty for no, qty in needed.items() if qty > 0}
    if missing:
        told = "; ".join(f"line {no}: {qty} unit(s) not shipped yet" for no, qty in sorted(missing.items()))
        raise NotShipped(
            f"{told}: they cannot be returned (cancel them instead)",
            lines=[{"line_no": int(no), "units": qty} for no, qty in sorted(missing.items())],
        )
    now = clock.now()
    for fo in chosen:
        for parcel in await repository.parcels_of(session, [fo.id]):
            parcel.delivered_at = parcel.delivered_at or now
        await move(session, fo, "deliver", principal.key_id, presented_at=store, by="customer")
    await delivered_so_far(session, news, order_id, how=f"presented at {store} by the customer")


def _in_transit(fo: FulfillmentOrder) -> bool:
    return fo.type == "delivery" and fo.status == "shipped"
