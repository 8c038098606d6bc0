"""Statements on the stock ledger (stock_movements)."""

from __future__ import annotations

from collections.abc import Sequence
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
    """on_hand as of `at`: today's on_hand minus every movement effective after `at`. Exact for
    any `at` inside the retention window (usecases/retention.py).
    None when the SKU was never stocked there."""
    sql = """
    SELECT s.on_hand - coalesce((
        SELECT sum(m.delta) FROM stock_movements m
        WHERE m.sku = s.sku AND m.location_code = s.location_code AND m.effective_at > :at
          -- implied (effective_at <= recorded_at), and it skips the months recorded before `at`
          AND m.recorded_at > :at
    ), 0) AS on_hand
    FROM stock_levels s WHERE s.sku = :sku AND s.location_code = :loc
    """
    value = await session.scalar(text(sql), {"sku": sku, "loc": location_code, "at": at})
    return None if value is None else int(value)


async def carry_forward(session: AsyncSession, months: Sequence[str], cutoff: datetime) -> int:
    """One `opening_balance` row per (sku, location) with the sum of the rows of the ledger
    partitions `months` (about to be dropped), recorded and effective at `cutoff`; returns how
    many. on_hand_after is that sum: on_hand as of the last dropped row."""
    dropped = " UNION ALL ".join(f"SELECT sku, location_code, delta FROM {m}" for m in months)
    sql = f"""
    WITH ins AS (
        INSERT INTO stock_movements
            (sku, location_code, delta, on_hand_after, reason, reference, actor_key_id, effective_at, recorded_at)
        SELECT sku, location_code, sum(delta), greatest(sum(delta), 0), 'opening_balance', :reference, NULL,
               :cutoff, :cutoff
        FROM ({dropped}) m
        GROUP BY sku, location_code HAVING sum(delta) <> 0
        ORDER BY sku, location_code
        RETURNING 1
    )
    SELECT count(*) FROM ins
    """
    reference = f"prune:{cutoff.date().isoformat()}"
    return int(await session.scalar(text(sql), {"cutoff": cutoff, "reference": reference}) or 0)


async def open_reservations_before(session: AsyncSession, cutoff: datetime) -> int:
    sql = "SELECT count(*) FROM reservations WHERE status = 'open' AND created_at < :cutoff"
    return int(await session.scalar(text(sql), {"cutoff": cutoff}) or 0)
