"""After placement: reading and listing orders, holds, cancellation, fulfilment progress,
and settling card captures/releases with the gateway outside any row lock."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.auth import Principal, Role
from app.core.db import transaction
from app.core.errors import InvalidInput, Problem
from app.core.money import Money
from app.core.pagination import Keyset, Page
from app.orders import repository, rules
from app.orders.errors import (
    HoldAlreadyLifted,
    HoldNotFound,
    NoLinesToCancel,
    OrderInvalidTransition,
    OrderNotFound,
)
from app.orders.models import Order, OrderHold, OrderLine, OrderTender
from app.orders.payments import registry
from app.orders.schemas import CancelLine, HoldOut, OrderOut, OrderSummary, TimelineEntryOut
from app.orders.usecases import hooks, neighbours
from app.orders.usecases.common import add_timeline, channel_of, hold_out, order_out, record_event

# ---- reading ------------------------------------------------------------------------------


async def get_order(session: AsyncSession, order_id: uuid.UUID) -> OrderOut:
    order = await repository.order(session, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return await _out(session, order)


async def _out(session: AsyncSession, order: Order) -> OrderOut:
    return order_out(
        order,
        await repository.order_lines(session, order.id),
        await repository.tenders(session, order.id),
        await repository.holds(session, order.id),
    )


async def check_access(session: AsyncSession, principal: Principal, order: Order, token: str | None) -> None:
    """Who may see or act on an order: staff and the contact center all; a kiosk/POS key its
    store's orders; a storefront key its own guest orders, or a customer's with their token."""
    if principal.role in (Role.ADMIN, Role.CONTACT_CENTER):
        return
    if principal.role in (Role.KIOSK, Role.POS):
        if principal.location_code in (order.store_code, order.pickup_location_code):
            return
        raise OrderNotFound("no such order at this store")
    if principal.role == Role.STOREFRONT:
        if order.customer_id is not None:
            await neighbours.authorize_customer(session, principal, order.customer_id, token)
            return
        if order.api_key_id == principal.key_id:
            return
    raise OrderNotFound("no such order")


async def order_for(session: AsyncSession, principal: Principal, order_id: uuid.UUID, token: str | None) -> OrderOut:
    order = await repository.order(session, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    await check_access(session, principal, order, token)
    return await _out(session, order)


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
        survivor = await neighbours.survivor_of(session, customer_id)
        if survivor is None:
            return Page(items=[])
        await neighbours.authorize_customer(session, principal, survivor, token)
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
    await check_access(session, principal, order, token)
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
            detail=r.detail,
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
    shown = await neighbours.customer_with(session, card=card_number, phone=phone)
    return shown is not None and shown == await neighbours.survivor_of(session, order.customer_id)


# ---- state changes ------------------------------------------------------------------------


async def _locked(session: AsyncSession, order_id: uuid.UUID) -> Order:
    order = await repository.order(session, order_id, lock=True)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return order


async def lock_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> None:
    """Lock these orders' rows, by id, without loading them.

    The order row is the first lock of every writer of an order: a cancellation, a hold,
    fulfilment progress, a return. Fulfilment takes it before its fulfillment orders' rows
    when a step of theirs goes on to change the order (ship, collect, a delivery, an expiry, a
    rejection, a pick list's confirmation), as a cancellation does before asking fulfilment to
    give units up — one global order (order rows by id, then fulfillment orders, then stock
    rows), so a cancel and a ship of the same order wait for each other instead of deadlocking."""
    await repository.lock_orders(session, order_ids)


def _move(order: Order, action: rules.Action, principal: Principal | None, session: AsyncSession, **detail: Any) -> str:
    before = order.status
    try:
        after = rules.next_status(rules.Status(before), action)
    except rules.TransitionRefused as exc:
        raise OrderInvalidTransition(
            str(exc),
            from_status=before,
            action=action.value,
            allowed=[a.value for a in rules.allowed_actions(rules.Status(before))],
        ) from None
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
    order = await _locked(session, order_id)
    await check_access(session, principal, order, token)
    _move(order, rules.Action.HOLD, principal, session, hold_type=type_, reason=reason)
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
    """Lift one hold; lifting the last one releases the order to fulfilment."""
    order = await _locked(session, order_id)
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
        _move(order, rules.Action.RELEASE, principal, session)
        await record_event(session, "order.released", order)
    await session.flush()
    return await _out(session, order)


async def cancel(
    session: AsyncSession,
    principal: Principal | None,
    order_id: uuid.UUID,
    reason: str,
    lines: Sequence[CancelLine] | None = None,
    token: str | None = None,
    move_stock: bool = True,
) -> OrderOut:
    """Cancel the whole order (`lines` None) or some quantities of lines not yet fulfilled:
    the `on_cancel` hooks give the units up (fulfilment: its open fulfillment orders and the
    reservations holding them; 409 when they were picked already), card holds released (by
    the settle job), points restored, and — when nothing is left — promotion redemptions
    given back. `principal` None: a system caller. `move_stock=False`: fulfilment cancels
    units itself and has already released them (no hook runs)."""
    order = await _locked(session, order_id)
    if principal is not None:
        await check_access(session, principal, order, token)
    order_lines = {line.line_no: line for line in await repository.order_lines(session, order.id)}
    wanted = _cancel_quantities(order_lines, lines)
    if not wanted:
        raise NoLinesToCancel("every line is already cancelled or fulfilled")
    remaining = {
        no: line.quantity - line.cancelled_quantity - line.fulfilled_quantity - wanted.get(no, 0)
        for no, line in order_lines.items()
    }
    nothing_left = all(q == 0 for q in remaining.values())
    fulfilled_any = any(line.fulfilled_quantity for line in order_lines.values())
    if nothing_left and not fulfilled_any:
        _move(order, rules.Action.CANCEL, principal, session, reason=reason)
        order.cancelled_at, order.cancel_reason = clock.now(), reason
    elif order.status not in _PARTIAL_CANCEL_STATES:
        raise OrderInvalidTransition(f"an order that is {order.status} cannot cancel lines", from_status=order.status)
    # Fulfilment knows where each unit is held (split lines, re-sourced units): it gives
    # them up and releases their reservations; orders releases only what nobody sourced.
    sourced = await hooks.cancelling(session, order.id, wanted) if move_stock else set(wanted)
    value = 0
    released: list[tuple[str, str, int]] = []
    for no, qty in sorted(wanted.items()):
        line = order_lines[no]
        value += rules.cancelled_value(line.line_total, line.quantity, line.cancelled_quantity, qty)
        line.cancelled_quantity += qty
        if no not in sourced:
            released.append((line.sku, line.location_code, qty))
    if released:
        await neighbours.release(session, order.reservation_ref, released)
    await _release_tenders(session, order, value, channel_of(principal) if principal else order.channel)
    if nothing_left and not fulfilled_any:
        await neighbours.give_back(session, order_id=order.id)
    elif nothing_left:
        _progress_status(order, list(order_lines.values()), principal, session)
    add_timeline(
        session,
        order.id,
        "lines_cancelled",
        principal,
        detail={"reason": reason, "lines": [{"line_no": n, "quantity": q} for n, q in sorted(wanted.items())]},
    )
    order.updated_at = clock.now()
    await session.flush()
    await record_event(
        session,
        "order.cancelled",
        order,
        reason=reason,
        whole_order=nothing_left and not fulfilled_any,
        lines=[{"line_no": n, "quantity": q} for n, q in sorted(wanted.items())],
        amount=value,
    )
    if nothing_left and order.status == rules.Status.FULFILLED and await hooks.handed_over(session, order.id):
        # The other units were delivered or collected already: no delivery is left to complete it.
        _move(order, rules.Action.COMPLETE, principal, session)
        await record_event(session, "order.completed", order)
    return await _out(session, order)


_PARTIAL_CANCEL_STATES = frozenset({"placed", "on_hold", "released_to_fulfilment", "partially_fulfilled"})


def _cancel_quantities(order_lines: Mapping[int, OrderLine], lines: Sequence[CancelLine] | None) -> dict[int, int]:
    open_qty = {no: ln.quantity - ln.cancelled_quantity - ln.fulfilled_quantity for no, ln in order_lines.items()}
    if lines is None:
        return {no: q for no, q in open_qty.items() if q > 0}
    wanted: dict[int, int] = {}
    for line in lines:
        if line.line_no not in order_lines:
            raise InvalidInput(f"the order has no line {line.line_no}", code="unknown_line", line_no=line.line_no)
        wanted[line.line_no] = wanted.get(line.line_no, 0) + line.quantity
    for no, qty in wanted.items():
        if qty > open_qty[no]:
            raise NoLinesToCancel(f"line {no} has only {open_qty[no]} left to cancel", line_no=no, open=open_qty[no])
    return wanted


async def _release_tenders(session: AsyncSession, order: Order, value: int, channel: str | None) -> None:
    tenders = {t.id: t for t in await repository.tenders(session, order.id)}
    balances = [
        rules.TenderBalance(id=t.id, kind=rules.TenderKind(t.kind), open_amount=_open_amount(t))
        for t in tenders.values()
    ]
    for tender_id, amount in rules.allocate_release(balances, value):
        tender = tenders[tender_id]  # type: ignore[index]
        if tender.kind in ("cash", "loyalty_points"):
            # Taken already: cash goes back at the till, points to the card.
            tender.refunded += amount
            if tender.kind == "loyalty_points" and tender.reference:
                await hooks.restore_points(session, tender.reference, amount, channel)
        else:
            tender.released += amount
    if any(t.kind == "card" for t in tenders.values()):
        from app.core.broker import enqueue_after_commit
        from app.orders.jobs import settle_payments

        enqueue_after_commit(session, settle_payments, str(order.id))


def _open_amount(tender: OrderTender) -> int:
    """What a tender still stands for: money taken up front (cash, points) until refunded,
    money not taken yet (cards, on delivery) until captured or released."""
    if tender.kind in ("cash", "loyalty_points"):
        return tender.amount - tender.refunded
    return tender.amount - tender.captured - tender.released


def _progress_status(
    order: Order, lines: Sequence[OrderLine], principal: Principal | None, session: AsyncSession
) -> None:
    action = rules.fulfilment_action((ln.quantity, ln.cancelled_quantity, ln.fulfilled_quantity) for ln in lines)
    if action is not None and (order.status, action) != ("fulfilled", rules.Action.FULFIL_ALL):
        _move(order, action, principal, session)


async def record_fulfilment_progress(
    session: AsyncSession,
    order_id: uuid.UUID,
    fulfilled: Mapping[int, int],
    *,
    event: str,
    actor: Principal | None = None,
    move_stock: bool = True,
) -> OrderOut:
    """Fulfilment reports units that left (shipped or collected): `fulfilled` maps line_no to
    the units that left now. Consumes their reservation (unless `move_stock=False`: the
    fulfilment domain consumed them where they are held), records the card capture intent
    (the settle job captures at the gateway), and moves the order to partially_fulfilled or
    fulfilled."""
    order = await _locked(session, order_id)
    lines = {line.line_no: line for line in await repository.order_lines(session, order.id)}
    consumed: list[tuple[str, str, int]] = []
    value = 0
    for no, qty in sorted(fulfilled.items()):
        line = lines.get(no)
        if line is None or qty <= 0 or qty > line.quantity - line.cancelled_quantity - line.fulfilled_quantity:
            raise InvalidInput(
                f"line {no} cannot take {qty} more fulfilled units", code="invalid_fulfilment", line_no=no
            )
        value += rules.value_of_units(
            line.line_total, line.quantity, line.fulfilled_quantity + qty
        ) - rules.value_of_units(line.line_total, line.quantity, line.fulfilled_quantity)
        line.fulfilled_quantity += qty
        consumed.append((line.sku, line.location_code, qty))
    _progress_status(order, list(lines.values()), actor, session)
    if move_stock:
        await neighbours.consume(session, order.reservation_ref, consumed)
    await _capture_intent(session, order, value)
    add_timeline(
        session,
        order.id,
        event,
        actor,
        detail={"lines": [{"line_no": n, "quantity": q} for n, q in sorted(fulfilled.items())]},
    )
    await session.flush()
    await record_event(
        session, f"order.{event}", order, lines=[{"line_no": n, "quantity": q} for n, q in sorted(fulfilled.items())]
    )
    return await _out(session, order)


async def _capture_intent(session: AsyncSession, order: Order, value: int) -> None:
    """Card captures happen when goods leave; on-delivery tenders are taken at the door
    (`record_delivery`)."""
    remaining = value
    for tender in await repository.tenders(session, order.id):
        if remaining <= 0:
            break
        if tender.kind == "card":
            take = min(tender.amount - tender.captured - tender.released, remaining)
            if take > 0:
                tender.captured += take
                remaining -= take
    from app.core.broker import enqueue_after_commit
    from app.orders.jobs import settle_payments

    enqueue_after_commit(session, settle_payments, str(order.id))


async def record_delivery(
    session: AsyncSession, order_id: uuid.UUID, delivered: Mapping[int, int], actor: Principal | None = None
) -> OrderOut:
    """The carrier handed parcels over: `delivered` maps line_no to the units delivered so far
    (all parcels, cumulative: a repeat changes nothing). Cash or card on delivery is captured
    for what the delivered goods cost beyond what the other tenders stand for."""
    order = await _locked(session, order_id)
    lines = await repository.order_lines(session, order.id)
    units = {ln.line_no: min(delivered.get(ln.line_no, 0), ln.quantity - ln.cancelled_quantity) for ln in lines}
    tenders = await repository.tenders(session, order.id)
    at_door = sorted((t for t in tenders if t.kind in rules.ON_DELIVERY), key=lambda t: t.position)
    due = rules.due_on_delivery(
        delivered_value=sum(rules.value_of_units(ln.line_total, ln.quantity, units[ln.line_no]) for ln in lines),
        covered_elsewhere=sum(_stands_for(t) for t in tenders if t.kind not in rules.ON_DELIVERY),
        on_delivery_total=sum(t.amount - t.released for t in at_door),
        everything_delivered=all(units[ln.line_no] == ln.quantity - ln.cancelled_quantity for ln in lines),
    )
    taken = 0
    remaining = due - sum(t.captured for t in at_door)
    for tender in at_door:
        take = min(tender.amount - tender.captured - tender.released, max(remaining, 0))
        tender.captured += take
        remaining -= take
        taken += take
    add_timeline(
        session,
        order.id,
        "lines_delivered",
        actor,
        detail={"lines": [{"line_no": n, "quantity": q} for n, q in sorted(units.items()) if q], "taken": taken},
    )
    order.updated_at = clock.now()
    await session.flush()
    await record_event(
        session,
        "order.lines_delivered",
        order,
        lines=[{"line_no": n, "quantity": q} for n, q in sorted(units.items()) if q],
        collected_at_door=taken,
    )
    return await _out(session, order)


def _stands_for(tender: OrderTender) -> int:
    """The part of the order a tender pays for, whether taken yet or not."""
    if tender.kind in ("cash", "loyalty_points"):
        return tender.amount - tender.refunded
    return tender.amount - tender.released


async def mark_lines_shipped(
    session: AsyncSession, order_id: uuid.UUID, lines: Mapping[int, int], actor: Principal | None = None
) -> OrderOut:
    return await record_fulfilment_progress(session, order_id, lines, event="lines_shipped", actor=actor)


async def mark_lines_collected(
    session: AsyncSession, order_id: uuid.UUID, lines: Mapping[int, int], actor: Principal | None = None
) -> OrderOut:
    return await record_fulfilment_progress(session, order_id, lines, event="lines_collected", actor=actor)


async def complete(session: AsyncSession, order_id: uuid.UUID, actor: Principal | None = None) -> OrderOut:
    order = await _locked(session, order_id)
    _move(order, rules.Action.COMPLETE, actor, session)
    await record_event(session, "order.completed", order)
    return await _out(session, order)


# ---- the gateway, after commit -----------------------------------------------------------


async def settle_payments(maker: async_sessionmaker[AsyncSession], order_id: uuid.UUID) -> int:
    """Catch the gateway up with the card tenders' captured/released amounts. Each call is
    keyed by the cumulative amount, so repeats and concurrent runs move no money twice.
    No transaction is open during a gateway call. Returns how many calls were made."""
    async with transaction(maker) as session:
        cards = [
            (t.id, t.provider, t.authorization_id, t.captured, t.gateway_captured, t.released, t.gateway_released)
            for t in await repository.tenders(session, order_id)
            if t.kind == "card" and t.authorization_id
        ]
    calls = 0
    for tender_id, provider, auth_id, captured, g_captured, released, g_released in cards:
        gateway = registry.provider(provider or registry.DEFAULT_PROVIDER, maker)
        assert auth_id is not None
        if captured > g_captured:
            await gateway.capture(f"capture:{tender_id}:{captured}", auth_id, captured - g_captured)
            calls += 1
        if released > g_released:
            await gateway.void(f"release:{tender_id}:{released}", auth_id, released - g_released)
            calls += 1
        async with transaction(maker) as session:
            await repository.gateway_caught_up(session, tender_id, captured, released)
    return calls


# ---- customers' registries ---------------------------------------------------------------


async def on_customer_merge(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
    from app.orders.usecases.carts import move_customer_carts

    await repository.move_orders(session, survivor_id, absorbed_id)
    await move_customer_carts(session, survivor_id, absorbed_id)


async def order_history(session: AsyncSession, customer_id: uuid.UUID, limit: int) -> list[Any]:
    from app.customers.service import HistoryEntry

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
