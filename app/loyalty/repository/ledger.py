"""Statements on the points ledger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty.models import LedgerEntry


async def insert_entry(session: AsyncSession, **row: Any) -> int | None:
    """The new entry's id; None when its `dedupe_key` was already used."""
    return (
        await session.execute(
            insert(LedgerEntry)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(LedgerEntry.id)
        )
    ).scalar_one_or_none()


async def insert_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(LedgerEntry), rows)


async def entry_by_id(session: AsyncSession, entry_id: int) -> LedgerEntry | None:
    return await session.get(LedgerEntry, entry_id)


async def lock_lines(session: AsyncSession, line_ids: Sequence[str]) -> None:
    """Serialize earnings and returns of the same order lines (a return may arrive before
    its sale): transaction-scoped advisory locks, taken in one fixed order."""
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(h) FROM ("
            " SELECT DISTINCT hashtextextended('loyalty-line:' || k, 0) AS h"
            " FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS s"
        ),
        {"keys": list(line_ids)},
    )


async def entry_by_dedupe_key(session: AsyncSession, dedupe_key: str) -> LedgerEntry | None:
    return (await session.scalars(select(LedgerEntry).where(LedgerEntry.dedupe_key == dedupe_key))).first()


async def ledger_page(
    session: AsyncSession, account_id: uuid.UUID, *, before_id: int | None, limit: int
) -> list[LedgerEntry]:
    """Newest first; `limit + 1` rows so the caller knows whether there is a next page."""
    stmt = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if before_id is not None:
        stmt = stmt.where(LedgerEntry.id < before_id)
    return list((await session.scalars(stmt.order_by(LedgerEntry.id.desc()).limit(limit + 1))).all())


async def ledger_sum(session: AsyncSession, account_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.account_id == account_id)
        )
        or 0
    )
