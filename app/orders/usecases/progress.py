"""Fulfillment progress as the order records it: units that left (the card capture),
units delivered (cash or card on delivery), completion. The fulfillment progress flows
(app/flows/fulfillment_progress.py) call these under the order's row lock."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.core.broker import enqueue_after_commit
from app.core.errors import InvalidInput
from app.orders import jobs, repository, rules
from app.orders.models import Order, OrderTender
from app.orders.schemas import OrderOut
from app.orders.usecases.common import add_timeline, record_event
from app.orders.usecases.lifecycle import locked_order, move, order_view, progress_status


async def record_fulfillment_progress(
    session: AsyncSession,
    order_id: uuid.UUID,
    fulfilled: Mapping[int, int],
    *,
    event: str,
    actor: Principal | None = None,
) -> OrderOut:
    """Units that left (shipped or collected; fulfillment consumed their stock where it held
    it): `fulfilled` maps line_no to the units that left now. Records the card capture intent
    (the settle job captures at the gateway) and moves the order to partially_fulfilled or
    fulfilled. The caller holds the order's row lock (the fulfillment progress flow)."""
    order = await locked_order(session, order_id)
    lines = {line.line_no: line for line in await repository.order_lines(session, order.id)}
    value = 0
    for no, qty in sorted(fulfilled.items()):
        line = lines.get(no)
        if line is None or qty <= 0 or qty > line.quantity - line.cancelled_quantity - line.fulfilled_quantity:
            raise InvalidInput(
                f"line {no} cannot take {qty} more fulfilled units", code="invalid_fulfillment", line_no=no
            )
        value += rules.value_of_units(
            line.line_total, line.quantity, line.fulfilled_quantity + qty
        ) - rules.value_of_units(line.line_total, line.quantity, line.fulfilled_quantity)
        line.fulfilled_quantity += qty
    progress_status(order, list(lines.values()), actor, session)
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
    return await order_view(session, order)


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
    enqueue_after_commit(session, jobs.settle_payments, str(order.id))


async def record_delivery(
    session: AsyncSession,
    order_id: uuid.UUID,
    delivered: Mapping[int, int],
    actor: Principal | None = None,
    *,
    how: str | None = None,
) -> OrderOut:
    """The carrier handed parcels over: `delivered` maps line_no to the units delivered so far
    (all parcels, cumulative: a repeat changes nothing). Cash or card on delivery is captured
    for what the delivered goods cost beyond what the other tenders stand for. `how`: the
    proof, when not the carrier's word ("presented at STORE-1 by the customer"), on the
    timeline as `note: "delivered: <how>"`."""
    order = await locked_order(session, order_id)
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
        detail={
            "lines": [{"line_no": n, "quantity": q} for n, q in sorted(units.items()) if q],
            "taken": taken,
            **({"note": f"delivered: {how}"} if how else {}),
        },
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
    return await order_view(session, order)


def _stands_for(tender: OrderTender) -> int:
    """The part of the order a tender pays for, whether taken yet or not."""
    if tender.kind in ("cash", "loyalty_points"):
        return tender.amount - tender.refunded
    return tender.amount - tender.released


async def complete(session: AsyncSession, order_id: uuid.UUID, actor: Principal | None = None) -> OrderOut:
    order = await locked_order(session, order_id)
    move(order, rules.Action.COMPLETE, actor, session)
    await record_event(session, "order.completed", order)
    return await order_view(session, order)


async def is_fulfilled(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Every unit left or was cancelled, and the order is not completed yet."""
    order = await repository.order(session, order_id)
    return order is not None and order.status == rules.Status.FULFILLED


async def note_on_timeline(
    session: AsyncSession, order_id: uuid.UUID, kind: str, actor: Principal | None, detail: dict[str, Any]
) -> None:
    """Something another domain did to the order, on its timeline as it told it (a store's
    rejection of a fulfillment order: who, why, where it went). The caller holds the row lock."""
    add_timeline(session, order_id, kind, actor, detail=detail)
