"""Refunds: exactly what was paid for the units (rules.py), points reversed first, money
back to the original tenders; cards at the gateway after commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.auth import Principal
from app.core.db import transaction
from app.core.settings import get_settings
from app.orders import repository as orders_repository
from app.orders.models import Order, OrderLine, OrderTender
from app.orders.payments import registry
from app.orders.returns import neighbours, repository, rules
from app.orders.returns.models import Return, ReturnLine
from app.orders.returns.schemas import ReturnOut
from app.orders.returns.usecases.common import load, move, return_out, step, unit_values
from app.orders.usecases import hooks
from app.orders.usecases.common import channel_of


async def refund(session: AsyncSession, principal: Principal, return_id: uuid.UUID) -> ReturnOut:
    order, ret = await load(session, principal, return_id)
    if principal.location_code is not None and ret.location_code is not None:
        principal.require_location(ret.location_code)
    await refund_received(session, principal, order, ret)
    return await return_out(session, ret)


async def value_lines(
    session: AsyncSession, order: Order, ret: Return
) -> tuple[list[ReturnLine], dict[int, OrderLine], dict[int, Any]]:
    """Price every line of the return and add it to the order's running totals."""
    order_lines = {ln.line_no: ln for ln in await orders_repository.order_lines(session, order.id)}
    totals = await repository.lock_line_totals(session, order.id)
    values = await unit_values(session, list(order_lines.values()))
    lines = await repository.lines_of(session, ret.id)
    for line in lines:
        ol, total = order_lines[line.line_no], totals[line.line_no]
        state = rules.LineRefundState(
            line_total=ol.line_total,
            quantity=ol.quantity,
            cancelled=ol.cancelled_quantity,
            refunded_units=total.refunded_quantity,
            refunded_amount=total.refunded_amount,
        )
        line.refund_amount = rules.line_refund(values[line.line_no], state, line.quantity)
        total.refunded_quantity += line.quantity
        total.refunded_amount += line.refund_amount
    return lines, order_lines, totals


async def refund_received(session: AsyncSession, principal: Principal, order: Order, ret: Return) -> None:
    before = move(ret, rules.Action.REFUND)
    lines, order_lines, totals = await value_lines(session, order, ret)
    goods = sum(line.refund_amount for line in lines)
    back = rules.everything_back(
        (ol.quantity, ol.cancelled_quantity, totals[no].refunded_quantity if no in totals else 0)
        for no, ol in order_lines.items()
    )
    delivery = int((order.pricing or {}).get("delivery", 0)) if (get_settings().returns_refund_delivery and back) else 0
    await pay_back(session, principal, order, ret, [(ln.line_no, ln.refund_amount) for ln in lines], goods, delivery)
    await step(
        session,
        principal,
        ret,
        "refunded",
        before,
        amount=ret.refund_total,
        delivery=delivery,
        points_reversed=ret.points_reversed,
        lines=[{"line_no": ln.line_no, "quantity": ln.quantity, "amount": ln.refund_amount} for ln in lines],
    )


async def pay_back(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    ret: Return,
    refunded: Sequence[tuple[int, int]],
    money: int,
    delivery: int,
) -> None:
    """Reverse the points of the refunded (line_no, amount), then spread `money + delivery -
    shortfall` over the original tenders (rules.REFUND_ORDER). Cards are refunded at the
    gateway after commit."""
    reversal = [(f"{order.id}:{no}", amount) for no, amount in refunded if amount > 0]
    reversed_points, shortfall = await neighbours.reverse_points(session, ret.id, reversal, channel_of(principal))
    shortfall = min(shortfall, money)
    amount = money + delivery - shortfall
    tenders = {t.id: t for t in await orders_repository.tenders(session, order.id)}
    balances = [
        rules.TenderBalance(id=t.id, kind=t.kind, position=t.position, refundable=t.captured - t.refunded)
        for t in tenders.values()
    ]
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for tender_id, share in rules.allocate_refund(balances, amount):
        tender: OrderTender = tenders[tender_id]  # type: ignore[index]
        tender.refunded += share
        if tender.kind == "loyalty_points" and tender.reference:
            # Exactly this share goes back to the card, not the whole redemption.
            await hooks.restore_points(session, tender.reference, share, channel_of(principal) or order.channel)
        rows.append(
            {
                "id": uuid.uuid4(),
                "return_id": ret.id,
                "order_id": order.id,
                "tender_id": tender.id,
                "kind": tender.kind,
                "amount": share,
                # Cash goes back at the till, points to the card, now; cards at the gateway.
                "status": "pending" if tender.kind == "card" else "done",
                "created_at": now,
                "settled_at": None if tender.kind == "card" else now,
            }
        )
    await session.flush()
    await repository.insert_refunds(session, rows)
    ret.refund_total = sum(r["amount"] for r in rows)
    ret.delivery_refund, ret.points_shortfall, ret.points_reversed = delivery, shortfall, reversed_points
    ret.refunded_at = now
    if any(r["status"] == "pending" for r in rows):
        from app.core.broker import enqueue_after_commit
        from app.orders.returns.jobs import settle_refunds as settle_job

        enqueue_after_commit(session, settle_job, str(ret.id))


async def settle_refunds(maker: async_sessionmaker[AsyncSession], return_id: uuid.UUID) -> int:
    """Refund the return's card shares at their gateway, keyed by the refund id (a repeat
    moves no money twice). Captures the order's cards first (the gateway refunds only what
    it captured). No transaction is open during a gateway call. Returns the calls made."""
    from app.orders import service as orders_service

    async with transaction(maker) as session:
        ret = await repository.get_return(session, return_id)
        if ret is None:
            return 0
        order_id = ret.order_id
    await orders_service.settle_payments(maker, order_id)
    async with transaction(maker) as session:
        pending = await repository.pending_card_refunds(session, return_id)
    calls = 0
    for row in pending:
        gateway = registry.provider(row.provider or registry.DEFAULT_PROVIDER, maker)
        await gateway.refund(f"refund:{row.id}", row.authorization_id, row.amount)
        calls += 1
        async with transaction(maker) as session:
            await repository.mark_refund_done(session, row.id, clock.now())
    return calls


async def pending_refund_returns(session: AsyncSession, limit: int = 100) -> list[uuid.UUID]:
    return await repository.returns_with_pending_refunds(session, limit)
