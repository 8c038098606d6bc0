"""Every SQL statement of the orders domain."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.orders.models import Cart, CartLine, Order, OrderHold, OrderLine, OrderTender, OrderTimelineEntry

# ---- carts --------------------------------------------------------------------------------


async def insert_cart(session: AsyncSession, values: dict[str, Any]) -> Cart | None:
    """None when the customer already has an open cart (the partial unique index)."""
    row = (
        await session.execute(
            insert(Cart)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[Cart.customer_id],
                # Literal SQL: PostgreSQL matches the partial index by its predicate text.
                index_where=text("status = 'open' AND customer_id IS NOT NULL"),
            )
            .returning(Cart)
        )
    ).scalar_one_or_none()
    return row


async def cart(session: AsyncSession, cart_id: uuid.UUID, *, lock: bool = False) -> Cart | None:
    stmt = select(Cart).where(Cart.id == cart_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def has_orders(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """Whether the customer has placed an order (cancelled ones count: a first order is once)."""
    found = await session.scalar(select(Order.id).where(Order.customer_id == customer_id).limit(1))
    return found is not None


async def open_cart_of(session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False) -> Cart | None:
    stmt = (
        select(Cart)
        .where(Cart.customer_id == customer_id, Cart.status == "open")
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def cart_lines(session: AsyncSession, cart_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(CartLine.sku, CartLine.quantity)
        .where(CartLine.cart_id == cart_id)
        .order_by(CartLine.added_at, CartLine.sku)
    )
    return {row.sku: row.quantity for row in rows}


async def add_cart_lines(
    session: AsyncSession, cart_id: uuid.UUID, lines: dict[str, int], now: datetime, max_quantity: int
) -> None:
    """Add quantities (a SKU already in the cart adds up)."""
    if not lines:
        return
    stmt = insert(CartLine).values(
        [{"cart_id": cart_id, "sku": sku, "quantity": qty, "added_at": now} for sku, qty in lines.items()]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CartLine.cart_id, CartLine.sku],
            set_={"quantity": func.least(CartLine.quantity + stmt.excluded.quantity, max_quantity)},
        )
    )


async def set_cart_line(session: AsyncSession, cart_id: uuid.UUID, sku: str, quantity: int, now: datetime) -> None:
    if quantity == 0:
        await session.execute(delete(CartLine).where(CartLine.cart_id == cart_id, CartLine.sku == sku))
        return
    stmt = insert(CartLine).values(cart_id=cart_id, sku=sku, quantity=quantity, added_at=now)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[CartLine.cart_id, CartLine.sku], set_={"quantity": quantity})
    )


async def replace_cart_lines(session: AsyncSession, cart_id: uuid.UUID, lines: dict[str, int], now: datetime) -> None:
    await session.execute(delete(CartLine).where(CartLine.cart_id == cart_id))
    if lines:
        await session.execute(
            insert(CartLine).values(
                [{"cart_id": cart_id, "sku": sku, "quantity": qty, "added_at": now} for sku, qty in lines.items()]
            )
        )


async def expired_carts(session: AsyncSession, now: datetime, limit: int) -> Sequence[Cart]:
    """Open carts idle past their expiry, locked; concurrent sweeps skip each other's rows."""
    return (
        await session.scalars(
            select(Cart)
            .where(Cart.status == "open", Cart.expires_at <= now)
            .order_by(Cart.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def move_carts(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
    """Closed carts of the absorbed customer follow it (the open one is merged by the service)."""
    await session.execute(
        update(Cart).where(Cart.customer_id == absorbed_id, Cart.status != "open").values(customer_id=survivor_id)
    )


# ---- orders -------------------------------------------------------------------------------


async def insert_order(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the drawn order number is taken (the caller draws another)."""
    inserted = await db.fetchval(session, _insert_order_sql(tuple(values)), db.rows_json([values]))
    return inserted is not None


@functools.cache
def _insert_order_sql(columns: tuple[str, ...]) -> str:
    # A driver statement (the placement's hot path); the row travels as one JSON document.
    return db.rows_insert(Order.__tablename__, columns, "$1", on_conflict="(number) DO NOTHING", returning="id")


async def order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
    stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def lock_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> None:
    """Lock the rows in id order (PostgreSQL locks them as the ORDER BY hands them over), so
    two callers locking overlapping sets never wait for each other in a circle."""
    if order_ids:
        await session.execute(
            select(Order.id).where(Order.id.in_(sorted(set(order_ids)))).order_by(Order.id).with_for_update()
        )


async def order_id_by_number(session: AsyncSession, number: str) -> uuid.UUID | None:
    return await session.scalar(select(Order.id).where(Order.number == number))


async def order_lines(session: AsyncSession, order_id: uuid.UUID) -> Sequence[OrderLine]:
    return (
        await session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id == order_id)
            .order_by(OrderLine.line_no)
            .execution_options(populate_existing=True)
        )
    ).all()


async def orders_by_id(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Order]:
    """Several orders in one statement (not locked)."""
    if not order_ids:
        return {}
    stmt = select(Order).where(Order.id.in_(list(order_ids))).execution_options(populate_existing=True)
    return {order.id: order for order in (await session.scalars(stmt)).all()}


async def lines_of_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[OrderLine]]:
    """Every line of several orders in one statement, by line number; an order id of no order
    maps to no lines."""
    out: dict[uuid.UUID, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return out
    stmt = (
        select(OrderLine)
        .where(OrderLine.order_id.in_(list(order_ids)))
        .order_by(OrderLine.order_id, OrderLine.line_no)
        .execution_options(populate_existing=True)
    )
    for line in (await session.scalars(stmt)).all():
        out.setdefault(line.order_id, []).append(line)
    return out


async def tenders(session: AsyncSession, order_id: uuid.UUID) -> Sequence[OrderTender]:
    return (
        await session.scalars(
            select(OrderTender)
            .where(OrderTender.order_id == order_id)
            .order_by(OrderTender.position)
            .execution_options(populate_existing=True)
        )
    ).all()


async def holds(session: AsyncSession, order_id: uuid.UUID) -> Sequence[OrderHold]:
    return (
        await session.scalars(
            select(OrderHold)
            .where(OrderHold.order_id == order_id)
            .order_by(OrderHold.placed_at, OrderHold.id)
            .execution_options(populate_existing=True)
        )
    ).all()


async def hold(session: AsyncSession, order_id: uuid.UUID, hold_id: uuid.UUID) -> OrderHold | None:
    return (
        await session.scalars(
            select(OrderHold)
            .where(OrderHold.order_id == order_id, OrderHold.id == hold_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()


async def timeline(
    session: AsyncSession, order_id: uuid.UUID, after: int | None, limit: int
) -> Sequence[OrderTimelineEntry]:
    stmt = select(OrderTimelineEntry).where(OrderTimelineEntry.order_id == order_id)
    if after is not None:
        stmt = stmt.where(OrderTimelineEntry.id > after)
    return (await session.scalars(stmt.order_by(OrderTimelineEntry.id).limit(limit + 1))).all()


async def list_orders(
    session: AsyncSession,
    *,
    customer_ids: Sequence[uuid.UUID] | None,
    channel: str | None,
    status: str | None,
    store: str | None,
    placed_from: datetime | None,
    placed_to: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Newest first, keyset on (placed_at, id); each filter has a matching index."""
    stmt = select(
        Order.id,
        Order.number,
        Order.status,
        Order.channel,
        Order.store_code,
        Order.customer_id,
        Order.fulfilment,
        Order.currency,
        Order.total,
        Order.placed_at,
    )
    if customer_ids is not None:
        stmt = stmt.where(Order.customer_id.in_(customer_ids))
    if channel is not None:
        stmt = stmt.where(Order.channel == channel)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if store is not None:
        stmt = stmt.where(Order.store_code == store)
    if placed_from is not None:
        stmt = stmt.where(Order.placed_at >= placed_from)
    if placed_to is not None:
        stmt = stmt.where(Order.placed_at < placed_to)
    if after is not None:
        stmt = stmt.where(tuple_(Order.placed_at, Order.id) < tuple_(after[0], after[1]))
    stmt = stmt.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit + 1)
    rows: Any = (await session.execute(stmt)).all()
    return list(rows)


async def move_orders(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Order).where(Order.customer_id == absorbed_id).values(customer_id=survivor_id).returning(Order.id)
    )
    return len(result.all())


async def order_id_by_payment_key(session: AsyncSession, payment_key: str) -> uuid.UUID | None:
    return await session.scalar(select(Order.id).where(Order.payment_key == payment_key))


async def mark_cart_ordered(session: AsyncSession, cart_id: uuid.UUID, order_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Cart).where(Cart.id == cart_id).values(status="ordered", order_id=order_id, updated_at=now)
    )


async def gateway_caught_up(session: AsyncSession, tender_id: uuid.UUID, captured: int, released: int) -> None:
    await session.execute(
        update(OrderTender)
        .where(OrderTender.id == tender_id)
        .values(
            gateway_captured=func.greatest(OrderTender.gateway_captured, captured),
            gateway_released=func.greatest(OrderTender.gateway_released, released),
        )
    )
