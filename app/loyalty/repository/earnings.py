"""Statements on earning lines (what each order line earned, and what its refunds took back)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty.models import EarningLine, Lot


async def insert_earning_lines(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(EarningLine), rows)


async def earning_lines(session: AsyncSession, lot_id: int) -> list[EarningLine]:
    return list(
        (
            await session.scalars(
                select(EarningLine)
                .where(EarningLine.lot_id == lot_id)
                .order_by(EarningLine.line_id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def earning_lines_for(session: AsyncSession, line_ids: Sequence[str]) -> list[tuple[EarningLine, uuid.UUID]]:
    """The earning line of each order line (with its lot's account), where one was earned."""
    rows = await session.execute(
        select(EarningLine, Lot.account_id)
        .join(Lot, Lot.id == EarningLine.lot_id)
        .where(EarningLine.line_id.in_(list(line_ids)))
        .order_by(EarningLine.line_id, EarningLine.lot_id)
        .execution_options(populate_existing=True)
    )
    return [(r[0], r[1]) for r in rows]


async def record_line_refund(session: AsyncSession, lot_id: int, line_id: str, refunded: int, reversed_: int) -> None:
    await session.execute(
        update(EarningLine)
        .where(EarningLine.lot_id == lot_id, EarningLine.line_id == line_id)
        .values(
            refunded_minor=EarningLine.refunded_minor + refunded,
            reversed_points=EarningLine.reversed_points + reversed_,
        )
    )
