"""Returns and refunds — orders' returns, fulfillment (what reached the customer), inventory
(restock / write-off) and loyalty (points reversed, points tenders given back).

Transaction boundary: the caller's (the request's `db_session`); nothing here commits. Card
refunds happen at the gateway after the commit (returns' settle job): nothing outside the
database is touched here, so there is nothing to compensate.

Lock order: the order row (`returns.find_order(lock=True)` / `load_for_refund`) → the
return row and the order's return totals → the stock rows (inventory's adjust, per SKU at
the receiving location) → the loyalty card. Cancellations and other returns of the same
order take the order row first too, so they wait for each other.

A customer presenting goods at a till is proof of their delivery: units of a shipped parcel
the carrier has not reported delivered yet are first recorded delivered there (fulfillment:
the parcel's fulfillment order; orders: the units, "delivered: presented at STORE by the
customer" on the timeline), then returned as usual. Units that never left cannot come back
(422 `not_shipped`).

A refund, in this order: exactly what was paid for the received units (the order's pricing
snapshot); the points those lines earned are reversed first, and the value of points the
customer already spent is deducted from the money; the money goes back to the original
tenders (points first, then card, then cash); a points tender's share goes back to its card.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.flows.fulfillment_progress import tell_orders
from app.fulfillment import service as fulfillment
from app.loyalty import service as loyalty
from app.orders.models import Order
from app.orders.returns import service as returns
from app.orders.returns.models import Return
from app.orders.returns.schemas import CustomerReturnableOut, ReturnableOut, ReturnCreate, ReturnOut


async def create_return(
    session: AsyncSession, principal: Principal, data: ReturnCreate, token: str | None = None
) -> ReturnOut:
    """A return authorization (the customer posts the goods back), or an immediate return at
    the caller's store: received with each line's disposition and refunded at once."""
    store = await returns.immediate_store(session, principal, data)
    order = await returns.find_order(session, principal, data.order_id, data.order_number, token, lock=True)
    view = await returns.order_view(session, order, await delivered_lines(session, [order.id]))
    if store is not None and (presented := returns.presented_not_delivered(view, data.lines)):
        await delivered_at_till(session, principal, order.id, presented, store)
        view = await returns.order_view(session, order, await delivered_lines(session, [order.id]))
    ret = await returns.request_return(session, principal, view, data)
    if store is not None:
        await returns.receive_goods(session, principal, order, ret, store, returns.dispositions(data))
        await refund_received(session, principal, order, ret)
    return await with_points_so_far(session, await returns.return_out(session, ret))


async def delivered_at_till(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, units: dict[int, int], store: str
) -> None:
    """The customer holds units the carrier has not reported delivered: record their parcels
    delivered at this till (the order's row is locked)."""
    news = fulfillment.OrderNews()
    await fulfillment.presented_at_store(session, principal, order_id, units, store, news=news)
    await tell_orders(session, news, principal)


async def get_return(
    session: AsyncSession, principal: Principal, return_id: uuid.UUID, token: str | None = None
) -> ReturnOut:
    return await with_points_so_far(session, await returns.get_return(session, principal, return_id, token))


async def with_points_so_far(session: AsyncSession, out: ReturnOut) -> ReturnOut:
    """The points the refund has taken back by now, read from loyalty: a till may refund before
    the sale's points were earned (the delivered event's earning runs after commit); loyalty
    reverses them when they arrive, and the return must then say so."""
    result = await loyalty.reversal_so_far(session, source_id=f"return:{out.id}", event_type="return.refunded")
    return out if result is None else msgspec.structs.replace(out, points_reversed=result.points_reversed)


async def refund(session: AsyncSession, principal: Principal, return_id: uuid.UUID) -> ReturnOut:
    """Refund a received return."""
    order, ret = await returns.load_for_refund(session, principal, return_id)
    await refund_received(session, principal, order, ret)
    return await with_points_so_far(session, await returns.return_out(session, ret))


async def refund_received(session: AsyncSession, principal: Principal, order: Order, ret: Return) -> None:
    due = await returns.refund_due(session, order, ret)
    await pay_back(session, principal, order, ret, due.refunded, money=due.money, delivery=due.delivery)
    await returns.record_refunded(session, principal, ret, due)


async def pay_back(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    ret: Return,
    refunded: Sequence[tuple[int, int]],
    *,
    money: int,
    delivery: int,
) -> None:
    """Reverse the points of the refunded (line no, amount), then pay `money + delivery -
    the spent points' value` back to the original tenders; points tenders' shares go back to
    their card in the name of the channel giving them back."""
    channel = principal.channel.value if principal.channel else None
    reversal = returns.points_to_reverse(order, refunded)
    points_reversed = shortfall = 0
    if reversal:
        result = await loyalty.reverse(
            session, source_id=f"return:{ret.id}", event_type="return.refunded", lines=reversal, channel=channel
        )
        points_reversed, shortfall = result.points_reversed, int(result.shortfall_value.amount)
    points_back = await returns.pay_back(
        session,
        order,
        ret,
        money=money,
        delivery=delivery,
        points_reversed=points_reversed,
        shortfall=shortfall,
    )
    for reference, amount in points_back:
        await loyalty.restore_for_order(session, reference, amount, channel=channel or order.channel)


async def returnable(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, token: str | None = None
) -> ReturnableOut:
    """Per line of the order: delivered, returned, what may still come back and its refund."""
    order = await returns.find_order(session, principal, order_id, None, token, lock=False)
    return returns.returnable(await returns.order_view(session, order, await delivered_lines(session, [order.id])))


async def customer_returnable_lines(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None = None
) -> CustomerReturnableOut:
    """The delivered, not yet returned lines of the customer's recent orders."""
    survivor, orders = await returns.customer_orders(session, principal, customer_id, token)
    delivered = await delivered_lines(session, [order.id for order in orders])
    return returns.customer_returnable_lines(survivor, await returns.order_views(session, orders, delivered))


async def delivered_lines(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> returns.DeliveredLines:
    """Per order, per order line: units delivered to the door (a `delivery` fulfillment order
    whose parcels all arrived) or collected at a store (a `pickup` one), and when the last of
    them did — the return window starts then. Ship-to-store legs are not deliveries: their
    pickup is. One call to fulfillment for all the orders (a customer's look-up scans up to 20)."""
    out: dict[uuid.UUID, dict[int, returns.Delivered]] = {order_id: {} for order_id in order_ids}
    for order_id, handed in (await fulfillment.delivered_lines(session, order_ids)).items():
        lines = out.setdefault(order_id, {})
        for line in handed:
            if not line.line_id.isdigit():
                continue
            no = int(line.line_id)
            before = lines.get(no, returns.Delivered(0, None))
            last = max(line.at, before.last_at) if before.last_at else line.at
            lines[no] = returns.Delivered(before.quantity + line.quantity, last)
    return out
