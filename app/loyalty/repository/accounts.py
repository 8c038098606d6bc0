"""Statements on loyalty accounts: look-ups, balances, merges, the tier's rolling spend."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.loyalty.models import Lot, LoyaltyAccount

_hit = aliased(LoyaltyAccount, name="hit")


async def account_by_card(session: AsyncSession, card_number: str, *, lock: bool = False) -> LoyaltyAccount | None:
    """The account of a card, or of the card it was merged into (merges are flattened)."""
    stmt = (
        select(LoyaltyAccount)
        .join(_hit, LoyaltyAccount.id == func.coalesce(_hit.merged_into_id, _hit.id))
        .where(_hit.card_number == card_number)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=LoyaltyAccount)
    return (await session.scalars(stmt)).first()


async def live_account_of_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False
) -> LoyaltyAccount | None:
    stmt = (
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer_id, LoyaltyAccount.merged_into_id.is_(None))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def account_by_id(session: AsyncSession, account_id: uuid.UUID, *, lock: bool = False) -> LoyaltyAccount | None:
    stmt = select(LoyaltyAccount).where(LoyaltyAccount.id == account_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def insert_account(
    session: AsyncSession, *, card_number: str, customer_id: uuid.UUID, tier: str, now: datetime
) -> None:
    """Idempotent: a card (or customer) that already has its account keeps it."""
    await session.execute(
        insert(LoyaltyAccount)
        .values(
            id=uuid.uuid4(), card_number=card_number, customer_id=customer_id, tier=tier, created_at=now, updated_at=now
        )
        .on_conflict_do_nothing()
    )


async def lock_accounts(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        select(LoyaltyAccount.id)
        .where(LoyaltyAccount.id.in_(list(account_ids)))
        .order_by(LoyaltyAccount.id)
        .with_for_update()
    )


async def take_available(session: AsyncSession, account_id: uuid.UUID, points: int, now: datetime) -> int | None:
    """The redemption guard: one conditional UPDATE, no read-then-write. The new available
    balance, or None when the card has fewer than `points` available."""
    return (
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.id == account_id, LoyaltyAccount.available >= points)
            .values(available=LoyaltyAccount.available - points, updated_at=now)
            .returning(LoyaltyAccount.available)
        )
    ).scalar_one_or_none()


async def change_balances(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    available: int = 0,
    pending: int = 0,
    now: datetime,
    tier: str | None = None,
    spend_minor: int | None = None,
) -> tuple[int, int]:
    changes: dict[str, Any] = {
        "available": LoyaltyAccount.available + available,
        "pending": LoyaltyAccount.pending + pending,
        "updated_at": now,
    }
    if tier is not None:
        changes["tier"] = tier
    if spend_minor is not None:
        changes["spend_minor"] = spend_minor
    row = (
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.id == account_id)
            .values(**changes)
            .returning(LoyaltyAccount.available, LoyaltyAccount.pending)
        )
    ).one()
    return int(row[0]), int(row[1])


async def close_merged_account(
    session: AsyncSession, absorbed_id: uuid.UUID, survivor_id: uuid.UUID, now: datetime
) -> None:
    """Empty the absorbed account, point it (and accounts merged into it) at the survivor."""
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == absorbed_id)
        .values(available=0, pending=0, spend_minor=0, merged_into_id=survivor_id, updated_at=now)
    )
    await session.execute(
        update(LoyaltyAccount).where(LoyaltyAccount.merged_into_id == absorbed_id).values(merged_into_id=survivor_id)
    )


async def rolling_spend(session: AsyncSession, account_id: uuid.UUID, since: datetime) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Lot.spend_minor), 0)).where(
            Lot.account_id == account_id, Lot.earned_at > since, Lot.spend_minor > 0
        )
    )
    return int(total or 0)
