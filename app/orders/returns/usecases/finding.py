"""Finding the purchase: an order's returnable lines, and a customer's across recent orders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.customers import service as customers
from app.orders import repository as orders_repository
from app.orders.models import Order
from app.orders.returns import rules
from app.orders.returns.errors import ReturnOrderNotFound
from app.orders.returns.schemas import (
    CustomerReturnableOut,
    ReturnableLineOut,
    ReturnableOut,
)
from app.orders.returns.usecases.common import (
    CUSTOMER_ORDERS_SCANNED,
    OrderView,
    refund_state,
)


def returnable_line(view: OrderView, no: int) -> ReturnableLineOut:
    facts, line = view.facts[no], view.lines[no]
    now = clock.now()
    open_units = facts.open_quantity
    reason = rules.line_reason(facts, now, max(open_units, 1))
    # Units in returns not refunded yet will refund before these: count from after them.
    state = refund_state(view, no)
    pending = facts.returned - state.refunded_units
    ahead = rules.LineRefundState(
        line_total=state.line_total,
        quantity=state.quantity,
        cancelled=state.cancelled,
        refunded_units=state.refunded_units + pending,
        refunded_amount=state.refunded_amount + (rules.line_refund(view.values[no], state, pending) if pending else 0),
    )
    return ReturnableLineOut(
        order_id=view.order.id,
        order_number=view.order.number,
        line_no=no,
        sku=line.sku,
        quantity=line.quantity,
        cancelled=line.cancelled_quantity,
        delivered=facts.delivered,
        returned=facts.returned,
        returnable_quantity=open_units if reason is None else 0,
        next_unit_refund=rules.line_refund(view.values[no], ahead, 1) if open_units else 0,
        refundable_amount=rules.line_refund(view.values[no], ahead, open_units) if open_units else 0,
        delivered_at=facts.delivered_at,
        window_closes_at=(
            rules.window_closes_at(facts.delivered_at, facts.window_days) if facts.delivered_at else None
        ),
        eligible=reason is None,
        reason=reason.value if reason else None,
    )


def returnable(view: OrderView) -> ReturnableOut:
    """Every line of the order with what was delivered, returned, may still come back, and
    what it would refund."""
    order = view.order
    return ReturnableOut(
        order_id=order.id,
        order_number=order.number,
        channel=order.channel,
        currency=order.currency,
        lines=[returnable_line(view, no) for no in sorted(view.lines)],
    )


async def customer_orders(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None = None
) -> tuple[uuid.UUID, list[Order]]:
    """The customer (following merges) and their recent orders a returns look-up scans."""
    survivor = await customers.resolve_customer_id(session, customer_id)
    if survivor is None:
        raise ReturnOrderNotFound(f"no customer {customer_id}", code="customer_not_found")
    await customers.authorize_customer_access(session, principal, survivor, token)
    rows = await orders_repository.list_orders(
        session,
        customer_ids=[survivor],
        channel=None,
        status=None,
        store=None,
        placed_from=None,
        placed_to=None,
        after=None,
        limit=CUSTOMER_ORDERS_SCANNED,
    )
    ids = [row.id for row in list(rows)[:CUSTOMER_ORDERS_SCANNED]]
    found = await orders_repository.orders_by_id(session, ids)
    return survivor, [found[i] for i in ids if i in found and found[i].status != "cancelled"]


def customer_returnable_lines(customer_id: uuid.UUID, views: Sequence[OrderView]) -> CustomerReturnableOut:
    """Lines of the customer's recent orders that were delivered and not returned yet (with
    the reason when one of them cannot come back any more)."""
    lines: list[ReturnableLineOut] = []
    for view in views:
        lines.extend(returnable_line(view, no) for no in sorted(view.lines) if view.facts[no].open_quantity > 0)
    return CustomerReturnableOut(customer_id=customer_id, lines=lines)
