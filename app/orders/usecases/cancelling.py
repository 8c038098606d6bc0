"""Cancelling an order, or some units of its lines: orders' steps of the cancel flow
(app/flows/cancel_order.py runs them, with fulfilment giving the units up between)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.core.broker import enqueue_after_commit
from app.core.errors import InvalidInput
from app.orders import jobs, repository, rules
from app.orders.errors import NoLinesToCancel, OrderInvalidTransition
from app.orders.models import Order, OrderLine, OrderTender
from app.orders.schemas import CancelLine, OrderOut
from app.orders.usecases.common import add_timeline, channel_of, record_event, release_stock
from app.orders.usecases.lifecycle import check_access, locked_order, move, next_status, order_view, progress_status
from app.pricing import service as pricing


@dataclass
class Cancellation:
    """A cancellation checked and not yet written (`start_cancel`); the order's row is locked."""

    order: Order
    lines: dict[int, OrderLine]
    wanted: dict[int, int]
    reason: str
    principal: Principal | None
    nothing_left: bool
    fulfilled_any: bool

    @property
    def whole_order(self) -> bool:
        return self.nothing_left and not self.fulfilled_any


@dataclass
class Cancelled:
    """What a cancellation wrote, and what the flow finishes with other domains: the points
    tenders to give back (reference, amount) in `channel`'s name, and whether the order may
    be completed now (`may_complete`: everything left was fulfilled; complete it if
    fulfilment has handed every unit over)."""

    order: OrderOut
    channel: str | None
    points_back: list[tuple[str, int]] = field(default_factory=list)
    may_complete: bool = False


async def start_cancel(
    session: AsyncSession,
    principal: Principal | None,
    order_id: uuid.UUID,
    reason: str,
    lines: Sequence[CancelLine] | None = None,
    token: str | None = None,
) -> Cancellation:
    """Lock the order's row (the first lock of every writer of an order), check the caller's
    access and what may be cancelled: the whole order (`lines` None) or some quantities of
    lines not yet fulfilled. Writes nothing. `principal` None: a system caller."""
    order = await locked_order(session, order_id)
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
        next_status(order, rules.Action.CANCEL)
    elif order.status not in _PARTIAL_CANCEL_STATES:
        raise OrderInvalidTransition(f"an order that is {order.status} cannot cancel lines", from_status=order.status)
    return Cancellation(order, order_lines, wanted, reason, principal, nothing_left, fulfilled_any)


async def cancel(session: AsyncSession, c: Cancellation, stock_released: Collection[int]) -> Cancelled:
    """Write a cancellation: the lines' cancelled units, their stock (orders releases the
    lines in `stock_released` no further: fulfilment gave those up where it held them), the
    card holds released (by the settle job), the promotion uses given back when nothing is
    left, the timeline and `order.cancelled`."""
    order, principal, wanted = c.order, c.principal, c.wanted
    if c.whole_order:
        move(order, rules.Action.CANCEL, principal, session, reason=c.reason)
        order.cancelled_at, order.cancel_reason = clock.now(), c.reason
    value = 0
    released: list[tuple[str, str, int]] = []
    for no, qty in sorted(wanted.items()):
        line = c.lines[no]
        value += rules.cancelled_value(line.line_total, line.quantity, line.cancelled_quantity, qty)
        line.cancelled_quantity += qty
        if no not in stock_released:
            released.append((line.sku, line.location_code, qty))
    if released:
        await release_stock(session, order.reservation_ref, released)
    channel = channel_of(principal) if principal else order.channel
    points_back = await _release_tenders(session, order, value)
    if c.whole_order:
        await pricing.give_back(session, order_id=order.id)
    elif c.nothing_left:
        progress_status(order, list(c.lines.values()), principal, session)
    add_timeline(
        session,
        order.id,
        "lines_cancelled",
        principal,
        detail={"reason": c.reason, "lines": [{"line_no": n, "quantity": q} for n, q in sorted(wanted.items())]},
    )
    order.updated_at = clock.now()
    await session.flush()
    await record_event(
        session,
        "order.cancelled",
        order,
        reason=c.reason,
        whole_order=c.whole_order,
        lines=[{"line_no": n, "quantity": q} for n, q in sorted(wanted.items())],
        amount=value,
    )
    may_complete = c.nothing_left and order.status == rules.Status.FULFILLED
    return Cancelled(await order_view(session, order), channel, points_back, may_complete)


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


async def _release_tenders(session: AsyncSession, order: Order, value: int) -> list[tuple[str, int]]:
    """Release `value` over the tenders; the points tenders to give back (reference, amount)."""
    tenders = {t.id: t for t in await repository.tenders(session, order.id)}
    balances = [
        rules.TenderBalance(id=t.id, kind=rules.TenderKind(t.kind), open_amount=_open_amount(t))
        for t in tenders.values()
    ]
    points_back: list[tuple[str, int]] = []
    for tender_id, amount in rules.allocate_release(balances, value):
        tender = tenders[tender_id]  # type: ignore[index]
        if tender.kind in ("cash", "loyalty_points"):
            # Taken already: cash goes back at the till, points to the card.
            tender.refunded += amount
            if tender.kind == "loyalty_points" and tender.reference and amount > 0:
                points_back.append((tender.reference, amount))
        else:
            tender.released += amount
    if any(t.kind == "card" for t in tenders.values()):
        enqueue_after_commit(session, jobs.settle_payments, str(order.id))
    return points_back


def _open_amount(tender: OrderTender) -> int:
    """What a tender still stands for: money taken up front (cash, points) until refunded,
    money not taken yet (cards, on delivery) until captured or released."""
    if tender.kind in ("cash", "loyalty_points"):
        return tender.amount - tender.refunded
    return tender.amount - tender.captured - tender.released
