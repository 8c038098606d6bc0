"""After placement: reading and listing orders, access, the order row's lock and status
moves, holds, and a customer's orders (merge, history). Cancelling is in `cancelling.py`,
fulfillment progress in `progress.py`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal, Role
from app.core.errors import Problem
from app.core.money import Money
from app.core.pagination import Keyset, Page
from app.customers import service as customers
from app.customers.schemas import HistoryEntry
from app.orders import repository, rules
from app.orders.errors import (
    HoldAlreadyLifted,
    HoldNotFound,
    OrderInvalidTransition,
    OrderNotFound,
)
from app.orders.models import Order, OrderHold, OrderLine
from app.orders.schemas import HoldOut, OrderOut, OrderSummary, TimelineEntryOut
from app.orders.usecases.carts import move_customer_carts
from app.orders.usecases.common import (
    add_timeline,
    channel_of,
    customer_with,
    hold_out,
    order_out,
    record_event,
)

# ---- reading ------------------------------------------------------------------------------


async def get_order(session: AsyncSession, order_id: uuid.UUID) -> OrderOut:
    order = await repository.order(session, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return await order_view(session, order)


async def order_view(session: AsyncSession, order: Order) -> OrderOut:
    return order_out(
        order,
        await repository.order_lines(session, order.id),
        await repository.tenders(session, order.id),
        await repository.holds(session, order.id),
    )


async def check_access(
    session: AsyncSession, principal: Principal, order: Order, token: str | None, *, act: bool = True
) -> None:
    """Who may see or act on an order: staff and the contact center all; a POS key reads
    every order (returns are taken at any till: it must find the web order the customer brings
    back, by id or number, as `POST /v1/returns` does) but acts only on its store's; a kiosk
    key its store's; a storefront key its own guest orders, or a customer's with their token."""
    if principal.role in (Role.ADMIN, Role.CONTACT_CENTER):
        return
    if principal.role in (Role.KIOSK, Role.POS):
        reading_at_a_till = not act and principal.role == Role.POS
        if reading_at_a_till or principal.location_code in (order.store_code, order.pickup_location_code):
            return
        raise OrderNotFound("no such order at this store")
    if principal.role == Role.STOREFRONT:
        if order.customer_id is not None:
            await customers.authorize_customer_access(session, principal, order.customer_id, token)
            return
        if order.api_key_id == principal.key_id:
            return
    raise OrderNotFound("no such order")


async def order_for(session: AsyncSession, principal: Principal, order_id: uuid.UUID, token: str | None) -> OrderOut:
    order = await repository.order(session, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    await check_access(session, principal, order, token, act=False)
    return await order_view(session, order)


async def has_orders(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """Whether the customer placed an order before (pricing's `first_order` fact)."""
    return await repository.has_orders(session, customer_id)


async def order_by_number(session: AsyncSession, principal: Principal, number: str, token: str | None) -> OrderOut:
    """One 404 whether the number is unknown or the order is not the caller's (another store's,
    another customer's): a number tells nothing about an order the caller may not see."""
    order_id = await repository.order_id_by_number(session, rules.normalize_order_number(number))
    if order_id is None:
        raise OrderNotFound("no order with this number")
    try:
        return await order_for(session, principal, order_id, token)
    except Problem as refused:
        if refused.status not in (401, 403, 404):
            raise
        raise OrderNotFound("no order with this number") from None


async def list_orders(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: uuid.UUID | None,
    channel: str | None,
    status: str | None,
    store: str | None,
    placed_from: datetime | None,
    placed_to: datetime | None,
    cursor: str | None,
    limit: int,
    token: str | None,
) -> Page[OrderSummary]:
    customer_ids: list[uuid.UUID] | None = None
    if customer_id is not None:
        survivor = await customers.resolve_customer_id(session, customer_id)
        if survivor is None:
            return Page(items=[])
        await customers.authorize_customer_access(session, principal, survivor, token)
        # Orders placed before a merge were moved to the survivor by the merge hook.
        customer_ids = [survivor]
    elif principal.role == Role.STOREFRONT:
        raise PermissionDeniedException(detail="a storefront key lists one customer's orders (customer_id + token)")
    if principal.role in (Role.KIOSK, Role.POS):
        if store is not None and store != principal.location_code:
            raise PermissionDeniedException(detail="this key acts for another store")
        if customer_ids is None:
            store = principal.location_code
    key = _order_cursor(cursor)
    rows = await repository.list_orders(
        session,
        customer_ids=customer_ids,
        channel=channel,
        status=status,
        store=store,
        placed_from=placed_from,
        placed_to=placed_to,
        after=key,
        limit=limit,
    )
    items = [OrderSummary(**row._asdict()) for row in rows]
    return ORDERS.page(items, limit, lambda o: [o.placed_at, o.id])


ORDERS = Keyset("orders", datetime, uuid.UUID)
TIMELINE = Keyset("order_timeline", int)


def _order_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    after = ORDERS.after(cursor)
    return (after[0], after[1]) if after else None


async def timeline(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, token: str | None, cursor: str | None, limit: int
) -> Page[TimelineEntryOut]:
    order = await repository.order(session, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    await check_access(session, principal, order, token, act=False)
    after = TIMELINE.after(cursor, scope=order_id)
    rows = await repository.timeline(session, order_id, after[0] if after else None, limit)
    items = [
        TimelineEntryOut(
            id=r.id,
            kind=r.kind,
            from_status=r.from_status,
            to_status=r.to_status,
            # Which API key acted is the retailer's business, not the shopper's.
            actor_key_id=None if principal.role is Role.STOREFRONT else r.actor_key_id,
            channel=r.channel,
            # Nor the name of the key or the staff member who acted ("by").
            detail={k: v for k, v in r.detail.items() if k != "by"} if principal.role is Role.STOREFRONT else r.detail,
            at=r.at,
        )
        for r in rows
    ]
    return TIMELINE.page(items, limit, lambda e: [e.id], scope=order_id)


async def customer_presents(
    session: AsyncSession, order_id: uuid.UUID, order_number: str, *, card_number: str | None, phone: str | None
) -> bool:
    """At a pickup counter, instead of the pickup code: is this the order's number, and the
    card or phone of its customer (following merges)? Guest orders have no one to match."""
    order = await repository.order(session, order_id)
    if order is None or order.customer_id is None or rules.normalize_order_number(order_number) != order.number:
        return False
    shown = await customer_with(session, card=card_number, phone=phone)
    return shown is not None and shown == await customers.resolve_customer_id(session, order.customer_id)


# ---- state changes ------------------------------------------------------------------------


async def locked_order(session: AsyncSession, order_id: uuid.UUID) -> Order:
    order = await repository.order(session, order_id, lock=True)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return order


async def lock_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> None:
    """Lock these orders' rows, by id, without loading them.

    The order row is the first lock of every writer of an order: a cancellation, a hold,
    fulfillment progress, a return. Fulfillment takes it before its fulfillment orders' rows
    when a step of theirs goes on to change the order (ship, collect, a delivery, an expiry, a
    rejection, a pick list's confirmation), as a cancellation does before asking fulfillment to
    give units up — one global order (order rows by id, then fulfillment orders, then stock
    rows), so a cancel and a ship of the same order wait for each other instead of deadlocking."""
    await repository.lock_orders(session, order_ids)


def next_status(order: Order, action: rules.Action) -> rules.Status:
    """The status `action` leads to; 409 `invalid_transition` when it is not allowed."""
    try:
        return rules.next_status(rules.Status(order.status), action)
    except rules.TransitionRefused as exc:
        raise OrderInvalidTransition(
            str(exc),
            from_status=order.status,
            action=action.value,
            allowed=[a.value for a in rules.allowed_actions(rules.Status(order.status))],
        ) from None


def move(order: Order, action: rules.Action, principal: Principal | None, session: AsyncSession, **detail: Any) -> str:
    before = order.status
    after = next_status(order, action)
    order.status, order.updated_at = after.value, clock.now()
    if after.value != before or action == rules.Action.HOLD:
        add_timeline(
            session, order.id, action.value, principal, from_status=before, to_status=after.value, detail=detail
        )
    return after.value


async def add_hold(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, type_: str, reason: str, token: str | None = None
) -> HoldOut:
    """A typed hold (who/why/when): the order keeps its reservations but is not released."""
    order = await locked_order(session, order_id)
    await check_access(session, principal, order, token)
    move(order, rules.Action.HOLD, principal, session, hold_type=type_, reason=reason)
    hold = OrderHold(
        id=uuid.uuid4(),
        order_id=order.id,
        type=type_,
        reason=reason,
        placed_by=principal.key_id,
        placed_channel=channel_of(principal),
        placed_at=clock.now(),
    )
    session.add(hold)
    order.open_holds += 1
    await session.flush()
    await record_event(session, "order.hold_added", order, hold_id=str(hold.id), hold_type=type_)
    return hold_out(hold)


async def lift_hold(
    session: AsyncSession,
    principal: Principal,
    order_id: uuid.UUID,
    hold_id: uuid.UUID,
    note: str | None,
    token: str | None = None,
) -> OrderOut:
    """Lift one hold; lifting the last one releases the order to fulfillment."""
    order = await locked_order(session, order_id)
    await check_access(session, principal, order, token)
    hold = await repository.hold(session, order.id, hold_id)
    if hold is None:
        raise HoldNotFound(f"no hold {hold_id} on order {order_id}")
    if hold.lifted_at is not None:
        raise HoldAlreadyLifted(f"lifted at {hold.lifted_at.isoformat()}")
    hold.lifted_at, hold.lifted_by, hold.lifted_channel, hold.lift_note = (
        clock.now(),
        principal.key_id,
        channel_of(principal),
        note,
    )
    order.open_holds -= 1
    add_timeline(session, order.id, "hold_lifted", principal, detail={"hold_id": str(hold.id), "hold_type": hold.type})
    await record_event(session, "order.hold_lifted", order, hold_id=str(hold.id), hold_type=hold.type)
    if order.open_holds == 0 and order.status == rules.Status.ON_HOLD:
        move(order, rules.Action.RELEASE, principal, session)
        await record_event(session, "order.released", order)
    await session.flush()
    return await order_view(session, order)


def progress_status(
    order: Order, lines: Sequence[OrderLine], principal: Principal | None, session: AsyncSession
) -> None:
    action = rules.fulfillment_action((ln.quantity, ln.cancelled_quantity, ln.fulfilled_quantity) for ln in lines)
    if action is not None and (order.status, action) != ("fulfilled", rules.Action.FULFIL_ALL):
        move(order, action, principal, session)


# ---- a customer's record -------------------------------------------------------------------


async def move_to_survivor(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
    """Customer merge: the absorbed customer's orders and carts become the survivor's."""
    await repository.move_orders(session, survivor_id, absorbed_id)
    await move_customer_carts(session, survivor_id, absorbed_id)


async def order_history(session: AsyncSession, customer_id: uuid.UUID, limit: int) -> list[HistoryEntry]:
    """The customer's newest orders as contact-center history entries."""
    rows = await repository.list_orders(
        session,
        customer_ids=[customer_id],
        channel=None,
        status=None,
        store=None,
        placed_from=None,
        placed_to=None,
        after=None,
        limit=limit,
    )
    return [
        HistoryEntry(
            kind="order",
            id=str(row.id),
            occurred_at=row.placed_at,
            number=row.number,
            channel=row.channel,
            status=row.status,
            total=Money(row.total, row.currency),
        )
        for row in rows[:limit]
    ]
