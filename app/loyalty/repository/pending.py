"""The pending lots of an account with their release dates (the contact-center view)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty.models import Lot


async def pending_lots(
    session: AsyncSession, account_id: uuid.UUID, limit: int
) -> list[tuple[int, datetime, str | None]]:
    """(points left, release time, order) of the account's pending lots, soonest first."""
    rows = await session.execute(
        select(Lot.remaining, Lot.available_at, Lot.order_id)
        .where(Lot.account_id == account_id, Lot.status == "pending", Lot.remaining > 0)
        .order_by(Lot.available_at, Lot.id)
        .limit(limit)
    )
    return [(int(r[0]), r[1], r[2]) for r in rows]
