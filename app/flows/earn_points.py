"""Points on delivery — a reaction that may come late, so it is an outbox consumer: the
`loyalty.earn_for_order` actor runs this for each `fulfillment.delivered` /
`fulfillment.collected` event (at least once; loyalty's earning is idempotent per event).

Transaction boundary: the job's, one per event. Reads the order (orders) and what that
fulfillment order handed over (fulfilment), then loyalty earns; lock order: the loyalty card
only (the order and fulfillment order are read without locks: a delivered fulfillment order
and its order's lines no longer change).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal, Role
from app.fulfillment import service as fulfillment
from app.loyalty import service as loyalty
from app.loyalty.schemas import DeliveredOrder, Earning
from app.orders import service as orders

# Fulfilment's read of a fulfillment order takes the caller; the job acts for no location.
_SYSTEM = Principal(key_id=uuid.UUID(int=0), role=Role.ADMIN)


async def earn_for_event(session: AsyncSession, event_id: str) -> Earning | None:
    """Earn for the delivered/collected event `event_id` (the outbox event id); None when
    it earns nothing (another event type, a transfer to a store, a guest order)."""
    event = await loyalty.earning_event(session, event_id)
    if event is None:
        return None
    delivered = await delivered_order(session, event.payload) if event.needs_order else None
    return await loyalty.earn_for_event(session, event, delivered)


async def delivered_order(session: AsyncSession, payload: dict[str, object]) -> DeliveredOrder:
    """A delivered/collected fulfillment order as loyalty earns on it: the order's lines and
    tenders (orders) and the units that fulfillment order handed over (fulfilment)."""
    order = await orders.get_order(session, uuid.UUID(str(payload["order_id"])))
    fo = await fulfillment.get_fulfillment_order(session, _SYSTEM, uuid.UUID(str(payload["fulfillment_order_id"])))
    ordered = {str(line.line_no): line for line in order.lines}
    return DeliveredOrder(
        order_id=str(order.id),
        customer_id=order.customer_id,
        channel=order.channel,
        currency=order.currency,
        order_total_minor=order.total,
        points_paid_minor=sum(t.amount for t in order.tenders if t.kind == "loyalty_points"),
        lines=[
            (
                int(ln.line_id),
                ordered[ln.line_id].quantity,
                ordered[ln.line_id].line_total,
                ln.quantity - ln.short_quantity,
            )
            for ln in fo.lines
            if ln.line_id in ordered
        ],
    )
