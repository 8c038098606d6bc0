"""Statements on reversals (returns taking points back) and their lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty.models import Reversal, ReversalLine


async def insert_reversal(session: AsyncSession, **row: Any) -> bool:
    inserted = (
        await session.execute(insert(Reversal).values(**row).on_conflict_do_nothing().returning(Reversal.source_id))
    ).scalar_one_or_none()
    return inserted is not None


async def reversal(session: AsyncSession, source_id: str, event_type: str) -> Reversal | None:
    return await session.get(Reversal, (source_id, event_type), populate_existing=True)


async def insert_reversal_lines(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ReversalLine), rows)


async def reversal_lines(session: AsyncSession, source_id: str, event_type: str) -> list[ReversalLine]:
    return list(
        (
            await session.scalars(
                select(ReversalLine)
                .where(ReversalLine.source_id == source_id, ReversalLine.event_type == event_type)
                .order_by(ReversalLine.line_id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def waiting_reversal_lines(
    session: AsyncSession, line_ids: Sequence[str]
) -> list[tuple[ReversalLine, str | None]]:
    """Return lines that arrived before their sale, with their return's channel, oldest first."""
    rows = await session.execute(
        select(ReversalLine, Reversal.channel)
        .join(
            Reversal,
            and_(Reversal.source_id == ReversalLine.source_id, Reversal.event_type == ReversalLine.event_type),
        )
        .where(ReversalLine.line_id.in_(list(line_ids)), ReversalLine.applied_at.is_(None))
        .order_by(Reversal.created_at, ReversalLine.source_id, ReversalLine.line_id)
        .with_for_update(of=ReversalLine)
        .execution_options(populate_existing=True)
    )
    return [(r[0], r[1]) for r in rows]


async def mark_reversal_line_applied(
    session: AsyncSession, line: ReversalLine, *, reversed_points: int, shortfall_points: int, now: datetime
) -> None:
    await session.execute(
        update(ReversalLine)
        .where(
            ReversalLine.source_id == line.source_id,
            ReversalLine.event_type == line.event_type,
            ReversalLine.line_id == line.line_id,
        )
        .values(reversed_points=reversed_points, shortfall_points=shortfall_points, applied_at=now)
    )
