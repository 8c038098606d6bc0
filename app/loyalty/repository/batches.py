"""Statements of the batch jobs: releasing pending points, expiring lots."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Uuid, column, select, update, values
from sqlalchemy.dialects.postgresql import BIGINT
from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty.models import Lot, LoyaltyAccount


async def accounts_with_due_lots(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Lot.account_id)
        .where(Lot.status == "pending", Lot.available_at <= now)
        .group_by(Lot.account_id)
        .order_by(Lot.account_id)
        .limit(limit)
    )
    return list(rows.all())


async def release_lots(session: AsyncSession, account_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
    """Make the due pending lots of these (locked) accounts available; points per account."""
    rows = await session.execute(
        update(Lot)
        .where(Lot.account_id.in_(list(account_ids)), Lot.status == "pending", Lot.available_at <= now)
        .values(status="available")
        .returning(Lot.account_id, Lot.remaining)
    )
    released: dict[uuid.UUID, int] = {}
    for account_id, remaining in rows:
        released[account_id] = released.get(account_id, 0) + int(remaining)
    return released


async def move_pending_to_available(session: AsyncSession, released: dict[uuid.UUID, int], now: datetime) -> None:
    if not released:
        return
    delta = values(column("account_id", Uuid()), column("points", BIGINT), name="r").data(list(released.items()))
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == delta.c.account_id)
        .values(
            pending=LoyaltyAccount.pending - delta.c.points,
            available=LoyaltyAccount.available + delta.c.points,
            updated_at=now,
        )
    )


async def accounts_with_expired_lots(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Lot.account_id)
        .where(Lot.status == "available", Lot.remaining > 0, Lot.expires_at <= now)
        .group_by(Lot.account_id)
        .order_by(Lot.account_id)
        .limit(limit)
    )
    return list(rows.all())


async def expire_lots(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], now: datetime
) -> list[tuple[int, uuid.UUID, int]]:
    """Zero the expired lots of these (locked) accounts: (lot id, account id, points expired)."""
    old = (
        select(Lot.id, Lot.remaining)
        .where(
            Lot.account_id.in_(list(account_ids)), Lot.status == "available", Lot.remaining > 0, Lot.expires_at <= now
        )
        .subquery("old")
    )
    rows = await session.execute(
        update(Lot).where(Lot.id == old.c.id).values(remaining=0).returning(Lot.id, Lot.account_id, old.c.remaining)
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


async def take_expired(session: AsyncSession, expired: dict[uuid.UUID, int], now: datetime) -> None:
    if not expired:
        return
    delta = values(column("account_id", Uuid()), column("points", BIGINT), name="x").data(list(expired.items()))
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == delta.c.account_id)
        .values(available=LoyaltyAccount.available - delta.c.points, updated_at=now)
    )
