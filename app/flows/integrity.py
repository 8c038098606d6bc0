"""`oms check`'s cross-domain rule: every unit an open order is still waiting to ship or hand
over is held for it in stock.

Fulfillment knows which reservation holds each line's units (a fulfillment order line's
holds); inventory knows what each reservation still holds. When a reservation was released
behind the order's back (through /v1/reservations, before that was refused), the order can
neither ship nor be cancelled cleanly: this finds it, so that staff cancel or re-source it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment import service as fulfillment
from app.inventory import service as inventory


@dataclass(frozen=True)
class OrderWithoutStock:
    """`held` units of `sku` at `location` wait for shipping on this fulfillment order, but
    their reservation holds only `reserved`."""

    order_number: str
    fulfillment_order: str
    sku: str
    location: str
    reference: str
    held: int
    reserved: int

    def __str__(self) -> str:
        return (
            f"order_reservation_missing: order={self.order_number} fulfillment_order={self.fulfillment_order} "
            f"sku={self.sku} location={self.location} reservation={self.reference} "
            f"awaiting={self.held} reserved={self.reserved}"
        )


async def orders_without_stock(session: AsyncSession, *, limit: int = 1000) -> list[OrderWithoutStock]:
    """Open orders whose lines still wait for units their reservation no longer holds."""
    waiting = await fulfillment.units_held(session)
    reserved = await inventory.open_reservation_units(session, [w.reference for w in waiting])
    # One reservation may hold a SKU for several fulfillment orders at one location: each
    # takes its units from what is left, in the order fulfillment lists them.
    left = dict(reserved)
    found: list[OrderWithoutStock] = []
    for w in waiting:
        key = (w.reference, w.sku, w.location)
        have = left.get(key, 0)
        left[key] = max(have - w.quantity, 0)
        if have < w.quantity and len(found) < limit:
            found.append(
                OrderWithoutStock(w.order_number, w.fulfillment_order, w.sku, w.location, w.reference, w.quantity, have)
            )
    return found
