"""Place an order — orders, loyalty, fulfillment's sourcing and inventory in one flow.

Customer facts: the customer's loyalty tier and first order are read by the quote flow
(app/flows/quote.py: loyalty, orders) and handed to `orders.prepare_order` as an argument.

Transaction boundary: validation and pricing read outside any transaction (autocommit:
each read stands alone, no BEGIN/COMMIT round trips); the card gateway is called with no
transaction open (no row lock is ever held across it); then one write transaction writes
the order and commits once.

Lock order inside it: the cart row (it must still be open), the promotion rows (uses
redeemed), the loyalty card (points redeemed), the new order row and its fulfillment orders
(nobody else sees them yet), and last the stock rows, in (SKU, location) order — the reserve
is the last statement before COMMIT, so a best seller's stock rows stay locked only for the
reserve and the commit. If the planned stock went meanwhile (`StockMoved`), the transaction
runs again with a fresh plan; the last of `ATTEMPTS` reserves as it plans (re-planning within
sourcing), which answers definitely: the order, or 409 `insufficient_stock`.

Compensation: whatever fails after the cards were authorized — a refusal, an error, the
request being cancelled — voids the authorizations (unless a concurrent twin of the same
request committed the order: then the money stays held for it).
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.auth import Principal
from app.core.db import autocommit, transaction
from app.core.idempotency import Operation, idempotent, operation_of, replay_if_done, require_key
from app.flows import quote
from app.fulfillment import service as fulfillment
from app.loyalty import service as loyalty
from app.orders import service as orders
from app.orders.schemas import OrderCreate, OrderOut

ATTEMPTS = 3


async def place_order(
    maker: async_sessionmaker[AsyncSession],
    request: Request[Any, Any, Any] | Operation,
    principal: Principal,
    data: OrderCreate,
    token: str | None,
) -> Response[OrderOut]:
    """`request`: the API's HTTP request, or the console's `Operation` (its form's key)."""
    op = await operation_of(request)  # the body read once, whoever asks for it
    key = require_key(op)  # 428 without one: a retry would place a second order
    async with autocommit(maker) as session:
        replay = await replay_if_done(session, op, principal)
        if replay is not None:
            return replay
        facts = await quote.order_facts(session, data)  # tier, first order: the records'
        draft = await orders.prepare_order(session, principal, data, token, facts)
    payment_key = f"order:{principal.key_id}:{key}"
    auths = await orders.authorize_cards(maker, draft, payment_key)
    try:
        return await _write_order(maker, op, principal, draft, auths)
    except BaseException:
        await orders.void_cards(maker, auths)
        raise


async def _write_order(
    maker: async_sessionmaker[AsyncSession],
    op: Operation,
    principal: Principal,
    draft: orders.Draft,
    auths: orders.Authorizations,
) -> Response[OrderOut]:
    """The order's transaction, again with a fresh plan while the planned stock moves."""
    for attempt in range(1, ATTEMPTS + 1):
        reserve_last = attempt < ATTEMPTS
        planned: list[fulfillment.Sourced] = []
        try:
            async with transaction(maker) as session:
                write = partial(_write, session, principal, draft, auths, reserve_last, planned)
                response = await idempotent(session, op, principal, write, required=True)
                if planned and reserve_last:
                    # The last statement before COMMIT: the stock rows every buyer wants.
                    await fulfillment.reserve_planned(session, planned[0], principal.key_id)
                return response
        except fulfillment.StockMoved:
            if not reserve_last:
                raise
    raise AssertionError("unreachable: the last attempt reserves as it plans")


async def _write(
    session: AsyncSession,
    principal: Principal,
    draft: orders.Draft,
    auths: orders.Authorizations,
    reserve_last: bool,
    planned: list[fulfillment.Sourced],
) -> OrderOut:
    """Points redeemed, the order row, sourcing's plan and fulfillment orders (reserved now
    unless `reserve_last`: then `planned` holds what to reserve), the order's lines."""
    order_id = uuid.uuid4()
    points = {
        position: await loyalty.redeem_for_order(session, card, amount, draft.currency, order_id, channel=draft.channel)
        for position, card, amount in draft.points_tenders()
    }
    new = await orders.open_order(session, principal, draft, auths, order_id=order_id, points_references=points)
    sourced = await fulfillment.plan_and_reserve(
        session, _to_source(draft, new), actor=principal.key_id, reserve=not reserve_last
    )
    planned.append(sourced)
    return await orders.finish_order(
        session, principal, draft, new, line_locations=sourced.line_locations, summary=sourced.summary
    )


def _to_source(draft: orders.Draft, new: orders.NewOrder) -> fulfillment.OrderToSource:
    address = draft.address or {}
    return fulfillment.OrderToSource(
        order_id=new.id,
        order_number=new.number,
        reservation_ref=new.reservation_ref,
        fulfillment="pickup" if draft.pickup_location is not None else "delivery",
        lines=draft.lines_to_source(),
        pickup_location=draft.pickup_location,
        latitude=address.get("latitude"),
        longitude=address.get("longitude"),
        pickup_contact=draft.contact if draft.pickup_location is not None else None,
        country=address.get("country"),
    )
