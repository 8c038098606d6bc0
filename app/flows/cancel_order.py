"""Cancel an order, or some units of its lines — orders, fulfilment, inventory and loyalty.

Transaction boundary: the caller's (the request's `db_session`, or the fulfilment step that
gave units up); nothing here commits. Nothing outside the database is touched: card holds
are released by orders' settle job after the commit, so there is nothing to compensate.

Lock order: the order row (`orders.start_cancel`) → its fulfillment orders
(`fulfillment.cancel_order_lines`, in a fixed order) → the stock rows (inventory's release,
in (SKU, location) order). Every flow that changes an order and its fulfillment orders takes
them in this order, so a cancel and a ship of the same order wait for each other instead of
deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.fulfillment import service as fulfillment
from app.loyalty import service as loyalty
from app.orders import service as orders
from app.orders.schemas import CancelLine, OrderOut


async def cancel_order(
    session: AsyncSession,
    principal: Principal | None,
    order_id: uuid.UUID,
    reason: str,
    lines: Sequence[CancelLine] | None = None,
    token: str | None = None,
) -> OrderOut:
    """The whole order (`lines` None) or some quantities of lines not yet fulfilled. The
    open (not yet picked) fulfillment orders give the units up and release the reservations
    holding them (409 `invalid_transition` when they were picked already); orders releases
    what nobody sourced, the card holds and — when nothing is left — the promotion uses;
    loyalty gets the points tenders back."""
    cancellation = await orders.start_cancel(session, principal, order_id, reason, lines, token)
    released = await fulfillment.cancel_order_lines(session, order_id, cancellation.wanted)
    return await finish_cancel(session, cancellation, released)


async def finish_cancel(
    session: AsyncSession, cancellation: orders.Cancellation, stock_released: Collection[int]
) -> OrderOut:
    """Write the cancellation (`stock_released`: the lines whose stock fulfilment gave up),
    give the points back, and complete an order whose other units all reached the customer
    (no delivery is left to complete it)."""
    done = await orders.cancel(session, cancellation, stock_released)
    for reference, amount in done.points_back:
        await loyalty.restore_for_order(session, reference, amount, channel=done.channel)
    order_id = cancellation.order.id
    if done.may_complete and await fulfillment.order_handed_over(session, order_id):
        return await orders.complete(session, order_id, cancellation.principal)
    return done.order
