"""Statements on the stock ledger (stock_movements)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.models import StockMovement


async def ledger_page(
    session: AsyncSession, *, sku: str | None, location_code: str | None, before_id: int | None, limit: int
) -> list[StockMovement]:
    query = select(StockMovement).order_by(StockMovement.id.desc()).limit(limit)
    if sku is not None:
        query = query.where(StockMovement.sku == sku)
    if location_code is not None:
        query = query.where(StockMovement.location_code == location_code)
    if before_id is not None:
        query = query.where(StockMovement.id < before_id)
    return list((await session.scalars(query)).all())


async def on_hand_at(session: AsyncSession, sku: str, location_code: str, at: datetime) -> int | None:
    """on_hand as of `at`: today's on_hand minus every movement effective after `at`.
    None when the SKU was never stocked there."""
    sql = """
    SELECT s.on_hand - coalesce((
        SELECT sum(m.delta) FROM stock_movements m
        WHERE m.sku = s.sku AND m.location_code = s.location_code AND m.effective_at > :at
    ), 0) AS on_hand
    FROM stock_levels s WHERE s.sku = :sku AND s.location_code = :loc
    """
    value = await session.scalar(text(sql), {"sku": sku, "loc": location_code, "at": at})
    return None if value is None else int(value)
