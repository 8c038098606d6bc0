"""An order's shipments as its customer sees them: where each part is, with tracking.

Reads only, in the request's transaction. Orders decides who may see the order (a
storefront key with the customer's `X-Customer-Token`, or its own guest order; a kiosk or
POS key its store's; staff all) — 404 otherwise; fulfillment then gives each fulfillment
order with its parcels (carrier, tracking number and link), promised and actual dates.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.schema import Out
from app.fulfillment import service as fulfillment
from app.fulfillment.schemas import ShipmentOut
from app.orders import service as orders


class OrderShipmentsOut(Out):
    order_id: uuid.UUID
    order_number: str
    status: str
    fulfillment: str
    placed_at: datetime
    shipments: list[ShipmentOut]


async def order_shipments(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, token: str | None
) -> OrderShipmentsOut:
    order = await orders.order_for(session, principal, order_id, token)
    shipments = await fulfillment.shipments_of(session, [order.id])
    return OrderShipmentsOut(
        order_id=order.id,
        order_number=order.number,
        status=order.status,
        fulfillment=order.fulfillment.method,
        placed_at=order.placed_at,
        shipments=shipments[order.id],
    )
