"""Batch jobs: pending points become available, expired points are written off, the audit."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.loyalty import repository


async def release_pending(session: AsyncSession, limit: int = 500) -> int:
    """Pending points whose return window closed become available; the number of cards."""
    now = clock.now()
    account_ids = await repository.accounts_with_due_lots(session, now, limit)
    if not account_ids:
        return 0
    await repository.lock_accounts(session, account_ids)
    released = await repository.release_lots(session, account_ids, now)
    await repository.move_pending_to_available(session, released, now)
    return len(account_ids)


async def expire_points(session: AsyncSession, limit: int = 500) -> int:
    """Available points past their expiry are written off, a ledger row per lot; the number of cards."""
    now = clock.now()
    account_ids = await repository.accounts_with_expired_lots(session, now, limit)
    if not account_ids:
        return 0
    await repository.lock_accounts(session, account_ids)
    expired = await repository.expire_lots(session, account_ids, now)
    per_account: dict[uuid.UUID, int] = {}
    for _, account_id, points in expired:
        per_account[account_id] = per_account.get(account_id, 0) + points
    await repository.insert_entries(
        session,
        [
            {
                "account_id": account_id,
                "kind": "expire",
                "points": -points,
                "reference": f"lot:{lot_id}",
                "occurred_at": now,
            }
            for lot_id, account_id, points in expired
        ],
    )
    await repository.take_expired(session, per_account, now)
    return len(account_ids)


async def audit(session: AsyncSession) -> list[str]:
    """Cards whose balance differs from their ledger's sum or from their lots (empty: all agree)."""
    return [
        f"card {card}: available {available}, pending {pending}, ledger {ledger_total}, "
        f"available lots {lots_available}, pending lots {lots_pending}"
        for card, available, pending, ledger_total, lots_available, lots_pending in await repository.balance_mismatches(
            session
        )
    ]
