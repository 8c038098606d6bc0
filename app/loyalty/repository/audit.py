"""Statements of the loyalty events consumed and of the audit."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxEvent
from app.loyalty.models import LedgerEntry, Lot, LoyaltyAccount


async def event_by_id(session: AsyncSession, event_id: uuid.UUID) -> OutboxEvent | None:
    return (await session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == event_id))).first()


async def balance_mismatches(session: AsyncSession) -> list[tuple[str, int, int, int, int, int]]:
    """Cards whose balances disagree with their ledger or lots:
    (card, available, pending, ledger sum, available lots, pending lots)."""
    ledger = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.points).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    lots = (
        select(
            Lot.account_id,
            func.sum(Lot.remaining).filter(Lot.status == "available").label("avail"),
            func.sum(Lot.remaining).filter(Lot.status == "pending").label("pend"),
        )
        .group_by(Lot.account_id)
        .subquery()
    )
    ledger_total = func.coalesce(ledger.c.total, 0)
    lots_available = func.coalesce(lots.c.avail, 0)
    lots_pending = func.coalesce(lots.c.pend, 0)
    rows = await session.execute(
        select(
            LoyaltyAccount.card_number,
            LoyaltyAccount.available,
            LoyaltyAccount.pending,
            ledger_total,
            lots_available,
            lots_pending,
        )
        .outerjoin(ledger, ledger.c.account_id == LoyaltyAccount.id)
        .outerjoin(lots, lots.c.account_id == LoyaltyAccount.id)
        .where(
            (LoyaltyAccount.available + LoyaltyAccount.pending != ledger_total)
            | (LoyaltyAccount.available != lots_available)
            | (LoyaltyAccount.pending != lots_pending)
        )
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]
