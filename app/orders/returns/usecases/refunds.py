"""Refunds: exactly what was paid for the units (rules.py), points reversed first, money
back to the original tenders; cards at the gateway after commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.core.broker import enqueue_after_commit
from app.core.settings import get_settings
from app.orders import repository as orders_repository
from app.orders.models import Order, OrderLine, OrderTender
from app.orders.returns import jobs, repository, rules
from app.orders.returns.models import Return, ReturnLine
from app.orders.returns.usecases.common import load, move, step, unit_values


async def load_for_refund(session: AsyncSession, principal: Principal, return_id: uuid.UUID) -> tuple[Order, Return]:
    """The order and the return, locked in that order; a store's key refunds its own returns."""
    order, ret = await load(session, principal, return_id)
    if principal.location_code is not None and ret.location_code is not None:
        principal.require_location(ret.location_code)
    return order, ret


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


@dataclass
class RefundDue:
    """A received return priced for its refund (`refund_due`), not paid back yet."""

    before: str
    lines: list[ReturnLine]
    money: int  # what the goods were paid
    delivery: int  # the delivery fee, when everything came back and the retailer refunds it

    @property
    def refunded(self) -> list[tuple[int, int]]:
        return [(ln.line_no, ln.refund_amount) for ln in self.lines]


async def refund_due(session: AsyncSession, order: Order, ret: Return) -> RefundDue:
    """Move the return to refunded and price its lines: exactly what was paid for the units."""
    before = move(ret, rules.Action.REFUND)
    lines, order_lines, totals = await value_lines(session, order, ret)
    back = rules.everything_back(
        (ol.quantity, ol.cancelled_quantity, totals[no].refunded_quantity if no in totals else 0)
        for no, ol in order_lines.items()
    )
    delivery = int((order.pricing or {}).get("delivery", 0)) if (get_settings().returns_refund_delivery and back) else 0
    return RefundDue(before, lines, sum(line.refund_amount for line in lines), delivery)


async def record_refunded(session: AsyncSession, principal: Principal, ret: Return, due: RefundDue) -> None:
    """The refund's step on the order's timeline and `return.refunded` (after `pay_back`)."""
    await step(
        session,
        principal,
        ret,
        "refunded",
        due.before,
        amount=ret.refund_total,
        delivery=due.delivery,
        points_reversed=ret.points_reversed,
        lines=[{"line_no": ln.line_no, "quantity": ln.quantity, "amount": ln.refund_amount} for ln in due.lines],
    )


def points_to_reverse(order: Order, refunded: Sequence[tuple[int, int]]) -> list[tuple[str, int]]:
    """(loyalty line id `<order id>:<line no>`, amount) of the refunded (line no, amount):
    the points those lines earned are taken back first."""
    return [(f"{order.id}:{no}", amount) for no, amount in refunded if amount > 0]


async def pay_back(
    session: AsyncSession,
    order: Order,
    ret: Return,
    *,
    money: int,
    delivery: int,
    points_reversed: int,
    shortfall: int,
) -> list[tuple[str, int]]:
    """Spread `money + delivery - shortfall` (the value of reversed points the customer had
    spent already; at most `money`) over the original tenders (rules.REFUND_ORDER). Cash and
    points are paid back now, cards at the gateway after commit. Returns the points tenders'
    shares (reference, amount) to give back to the card they came from."""
    shortfall = min(shortfall, money)
    amount = money + delivery - shortfall
    tenders = {t.id: t for t in await orders_repository.tenders(session, order.id)}
    balances = [
        rules.TenderBalance(id=t.id, kind=t.kind, position=t.position, refundable=t.captured - t.refunded)
        for t in tenders.values()
    ]
    now = clock.now()
    rows: list[dict[str, Any]] = []
    points_back: list[tuple[str, int]] = []
    for tender_id, share in rules.allocate_refund(balances, amount):
        tender: OrderTender = tenders[tender_id]  # type: ignore[index]
        tender.refunded += share
        if tender.kind == "loyalty_points" and tender.reference and share > 0:
            # Exactly this share goes back to the card, not the whole redemption.
            points_back.append((tender.reference, share))
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
    ret.delivery_refund, ret.points_shortfall, ret.points_reversed = delivery, shortfall, points_reversed
    ret.refunded_at = now
    if any(r["status"] == "pending" for r in rows):
        enqueue_after_commit(session, jobs.settle_refunds, str(ret.id))
    return points_back
