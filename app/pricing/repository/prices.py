"""Statements on prices (the price history)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing.models import Price


async def insert_price(session: AsyncSession, **values: Any) -> Price | None:
    """The new price, or None when one already starts at that instant."""
    price: Price | None = (
        await session.scalars(
            insert(Price)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["sku", "zone_code", "currency", "valid_from"])
            .returning(Price)
        )
    ).first()
    return price


async def get_price(session: AsyncSession, price_id: uuid.UUID) -> Price | None:
    return await session.get(Price, price_id)


async def delete_price(session: AsyncSession, price_id: uuid.UUID) -> None:
    await session.execute(delete(Price).where(Price.id == price_id))


async def price_history(
    session: AsyncSession,
    sku: str,
    zone: str | None,
    currency: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
    started_by: datetime | None = None,
) -> list[Price]:
    """Newest first (scheduled ones on top), keyset on (valid_from, id); with `started_by`,
    only prices that had started by then (none scheduled)."""
    query = select(Price).where(Price.sku == sku)
    if started_by is not None:
        query = query.where(Price.valid_from <= started_by)
    if zone is not None:
        query = query.where(Price.zone_code == zone)
    if currency is not None:
        query = query.where(Price.currency == currency)
    if after is not None:
        query = query.where(func.row(Price.valid_from, Price.id) < func.row(after[0], uuid.UUID(after[1])))
    query = query.order_by(Price.valid_from.desc(), Price.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())
