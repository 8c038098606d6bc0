"""Every SQL statement of returns (orders' own tables are read through app.orders.repository)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Order, OrderTender
from app.orders.returns.models import Exchange, OrderLineReturns, Return, ReturnLine, ReturnPolicy, ReturnRefund

# ---- policies -----------------------------------------------------------------------------


async def policies_for(session: AsyncSession, codes: Sequence[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = await session.execute(
        select(ReturnPolicy.category_code, ReturnPolicy.days).where(ReturnPolicy.category_code.in_(set(codes)))
    )
    return {row.category_code: row.days for row in rows}


async def upsert_policy(session: AsyncSession, code: str, days: int, now: datetime) -> ReturnPolicy:
    stmt = insert(ReturnPolicy).values(category_code=code, days=days, updated_at=now)
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ReturnPolicy.category_code], set_={"days": days, "updated_at": now}
            ).returning(ReturnPolicy)
        )
    ).scalar_one()
    return row


async def list_policies(session: AsyncSession, after: str | None, limit: int) -> list[ReturnPolicy]:
    stmt = select(ReturnPolicy).order_by(ReturnPolicy.category_code).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(ReturnPolicy.category_code > after)
    return list((await session.scalars(stmt)).all())


# ---- returns ------------------------------------------------------------------------------


async def insert_return(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the drawn number is taken (the caller draws another)."""
    row = await session.execute(
        insert(Return).values(**values).on_conflict_do_nothing(index_elements=[Return.number]).returning(Return.id)
    )
    return row.scalar_one_or_none() is not None


async def get_return(session: AsyncSession, return_id: uuid.UUID, *, lock: bool = False) -> Return | None:
    stmt = select(Return).where(Return.id == return_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def insert_lines(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ReturnLine).values(list(rows)))


async def lines_of(session: AsyncSession, return_id: uuid.UUID) -> list[ReturnLine]:
    stmt = (
        select(ReturnLine)
        .where(ReturnLine.return_id == return_id)
        .order_by(ReturnLine.line_no)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


async def refunds_of(session: AsyncSession, return_id: uuid.UUID) -> list[ReturnRefund]:
    stmt = (
        select(ReturnRefund)
        .where(ReturnRefund.return_id == return_id)
        .order_by(ReturnRefund.created_at, ReturnRefund.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


async def exchange_of(session: AsyncSession, return_id: uuid.UUID) -> Exchange | None:
    return await session.get(Exchange, return_id)


# ---- the per-line guard -------------------------------------------------------------------


async def line_totals(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, int], Any]:
    if not order_ids:
        return {}
    rows = await session.execute(
        select(
            OrderLineReturns.order_id,
            OrderLineReturns.line_no,
            OrderLineReturns.returned_quantity,
            OrderLineReturns.refunded_quantity,
            OrderLineReturns.refunded_amount,
        ).where(OrderLineReturns.order_id.in_(list(order_ids)))
    )
    return {(row.order_id, row.line_no): row for row in rows}


_TAKE_UNITS = text(
    """
    INSERT INTO order_line_returns AS t (order_id, line_no, returned_quantity, refunded_quantity, refunded_amount)
    SELECT CAST(:order_id AS uuid), CAST(:line_no AS bigint), CAST(:units AS bigint), 0, 0
     WHERE CAST(:units AS bigint) <= CAST(:limit AS bigint)
    ON CONFLICT (order_id, line_no) DO UPDATE
       SET returned_quantity = t.returned_quantity + EXCLUDED.returned_quantity
     WHERE t.returned_quantity + EXCLUDED.returned_quantity <= CAST(:limit AS bigint)
    RETURNING t.returned_quantity
    """
)


async def take_units(session: AsyncSession, order_id: uuid.UUID, line_no: int, units: int, limit: int) -> bool:
    """Count `units` more of the line as returned, only if that keeps it within `limit`
    (the units delivered). One conditional statement: of two returns racing for the last
    unit, the second waits on the row and then finds nothing left (False)."""
    row = await session.execute(_TAKE_UNITS, {"order_id": order_id, "line_no": line_no, "units": units, "limit": limit})
    return row.first() is not None


async def give_back_units(session: AsyncSession, order_id: uuid.UUID, lines: Sequence[tuple[int, int]]) -> None:
    """A closed or rejected return: its units may come back in another return."""
    for line_no, units in sorted(lines):
        await session.execute(
            update(OrderLineReturns)
            .where(OrderLineReturns.order_id == order_id, OrderLineReturns.line_no == line_no)
            .values(returned_quantity=OrderLineReturns.returned_quantity - units)
        )


async def lock_line_totals(session: AsyncSession, order_id: uuid.UUID) -> dict[int, OrderLineReturns]:
    """Lock the order's running totals in line order (the order every writer uses)."""
    stmt = (
        select(OrderLineReturns)
        .where(OrderLineReturns.order_id == order_id)
        .order_by(OrderLineReturns.line_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.line_no: row for row in (await session.scalars(stmt)).all()}


# ---- refunds ------------------------------------------------------------------------------


async def insert_refunds(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ReturnRefund).values(list(rows)))


async def pending_card_refunds(session: AsyncSession, return_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        select(ReturnRefund.id, ReturnRefund.amount, OrderTender.provider, OrderTender.authorization_id)
        .join(OrderTender, OrderTender.id == ReturnRefund.tender_id)
        .where(ReturnRefund.return_id == return_id, ReturnRefund.status == "pending")
        .order_by(ReturnRefund.created_at, ReturnRefund.id)
    )
    return list(rows.all())


async def mark_refund_done(session: AsyncSession, refund_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(ReturnRefund)
        .where(ReturnRefund.id == refund_id, ReturnRefund.status == "pending")
        .values(status="done", settled_at=now)
    )


async def returns_with_pending_refunds(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    rows = await session.execute(
        select(ReturnRefund.return_id)
        .where(ReturnRefund.status == "pending")
        .group_by(ReturnRefund.return_id)
        .order_by(func.min(ReturnRefund.created_at))
        .limit(limit)
    )
    return [row.return_id for row in rows]


async def insert_exchange(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(Exchange).values(**values))


async def returns_page(
    session: AsyncSession,
    *,
    order_ids: Sequence[uuid.UUID] | None,
    customer_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Return]:
    """Newest first: the returns of these orders, or of every order of this customer
    (through `ix_orders_customer_placed` and `ix_returns_order`)."""
    stmt = select(Return).order_by(Return.created_at.desc(), Return.id.desc()).limit(limit + 1)
    if order_ids is not None:
        stmt = stmt.where(Return.order_id.in_(order_ids))
    if customer_id is not None:
        stmt = stmt.where(Return.order_id.in_(select(Order.id).where(Order.customer_id == customer_id)))
    if after is not None:
        stmt = stmt.where(tuple_(Return.created_at, Return.id) < tuple_(*after))
    return list((await session.scalars(stmt)).all())
