"""Statements of counts: the basis a count is compared with, and POS batches received once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.models import StockSyncBatch


async def count_basis(
    session: AsyncSession, location_code: str, lines: Sequence[tuple[str, datetime]]
) -> dict[str, tuple[int, int]]:
    """For each (sku, counted_at) at a location: (on_hand now, sum of movements effective
    after counted_at), with the stock rows locked in sku order until the transaction ends."""
    sql = """
    WITH x AS (
        SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:at AS timestamptz[])) AS x(sku, counted_at)
    ),
    locked AS MATERIALIZED (
        SELECT s.sku, s.on_hand FROM stock_levels s JOIN x ON s.sku = x.sku
        WHERE s.location_code = :loc ORDER BY s.sku FOR UPDATE OF s
    )
    SELECT k.sku, k.on_hand, coalesce((
        SELECT sum(m.delta) FROM stock_movements m
        WHERE m.sku = k.sku AND m.location_code = :loc AND m.effective_at > x.counted_at
          -- implied (effective_at <= recorded_at); skips the months recorded before the count
          AND m.recorded_at > x.counted_at
    ), 0) AS moved
    FROM locked k JOIN x ON x.sku = k.sku
    """
    rows = await session.execute(
        text(sql), {"loc": location_code, "skus": [line[0] for line in lines], "at": [line[1] for line in lines]}
    )
    return {r.sku: (int(r.on_hand), int(r.moved)) for r in rows}


async def claim_sync_batch(
    session: AsyncSession, location_code: str, batch_id: str, actor: uuid.UUID | None, now: datetime
) -> bool:
    """Record the batch before applying it; False when it was received before. A concurrent
    re-send waits on the key until the first commits, then sees it."""
    stmt = (
        insert(StockSyncBatch)
        .values(location_code=location_code, batch_id=batch_id, received_at=now, actor_key_id=actor, outcome={})
        .on_conflict_do_nothing()
        .returning(StockSyncBatch.batch_id)
    )
    return (await session.execute(stmt)).first() is not None


async def sync_batch(session: AsyncSession, location_code: str, batch_id: str) -> StockSyncBatch | None:
    result: StockSyncBatch | None = await session.get(StockSyncBatch, (location_code, batch_id))
    return result


async def save_sync_outcome(session: AsyncSession, location_code: str, batch_id: str, outcome: dict[str, Any]) -> None:
    await session.execute(
        update(StockSyncBatch)
        .where(StockSyncBatch.location_code == location_code, StockSyncBatch.batch_id == batch_id)
        .values(outcome=outcome)
    )
