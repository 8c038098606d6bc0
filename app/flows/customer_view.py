"""The contact center's one view of a customer: everything of every channel in one call.

Reads only, in the request's transaction (nothing is written, so nothing to commit or
compensate; no locks taken). Each part comes from its domain's service: customers (the
record, following merges), orders (the page of orders, newest first, and the open cart),
fulfillment (each order's shipments and pickups with tracking and dates), returns (each
order's returns and refunds) and loyalty (balance, tier and progress, expiring points,
pending points with their release dates). The orders are the paged axis: everything that
belongs to an order travels with it, so the agent reads one order's story in one place.
Statements run one after the other (a session runs one at once); per page it is a fixed
number of statements plus three per return shown.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.schema import Out
from app.customers import service as customers
from app.customers.schemas import CustomerOut
from app.fulfillment import service as fulfillment
from app.fulfillment.schemas import ShipmentOut
from app.loyalty import service as loyalty
from app.loyalty.schemas import CardOut, PendingPointsOut
from app.orders import service as orders
from app.orders.returns import service as returns
from app.orders.returns.schemas import ReturnOut
from app.orders.schemas import CartOut, OrderSummary


class LoyaltyView(Out):
    card: CardOut  # available, pending, tier, progress to the next tier, upcoming expiries
    pending_releases: list[PendingPointsOut]  # when each pending lot becomes spendable


class OrderStory(Out):
    order: OrderSummary
    shipments: list[ShipmentOut]  # deliveries with tracking; pickups ready / collected / expired
    returns: list[ReturnOut]  # with their refunds and the points reversed


class CustomerViewOut(Out):
    customer: CustomerOut
    loyalty: LoyaltyView
    open_cart: CartOut | None
    orders: list[OrderStory]  # newest first, `limit` per page
    next_cursor: str | None


async def customer_view(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
    token: str | None = None,
) -> CustomerViewOut:
    """One customer's page: record, loyalty and open cart on every page; the orders of every
    channel newest first, `limit` at a time (`cursor` from the previous page's `next_cursor`)."""
    await customers.authorize_customer_access(session, principal, customer_id, token)
    customer = await customers.get_customer(session, customer_id)
    page = await orders.list_orders(
        session,
        principal,
        customer_id=customer.id,
        channel=None,
        status=None,
        store=None,
        placed_from=None,
        placed_to=None,
        cursor=cursor,
        limit=limit,
        token=token,
    )
    order_ids = [o.id for o in page.items]
    shipments = await fulfillment.shipments_of(session, order_ids)
    order_returns = await returns.returns_of_orders(session, order_ids)
    card = await loyalty.card_view(session, customer.card_number)
    return CustomerViewOut(
        customer=customer,
        loyalty=LoyaltyView(card=card, pending_releases=await loyalty.pending_releases(session, customer.card_number)),
        open_cart=await orders.open_cart(session, customer.id),
        orders=[OrderStory(order=o, shipments=shipments[o.id], returns=order_returns[o.id]) for o in page.items],
        next_cursor=page.next_cursor,
    )
