"""Pending points with the date each lot becomes spendable (the contact-center view)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty import repository
from app.loyalty.repository.pending import pending_lots
from app.loyalty.schemas import PendingPointsOut
from app.loyalty.usecases.accounts import _card


async def pending_releases(session: AsyncSession, card_number: str, *, limit: int = 50) -> list[PendingPointsOut]:
    """The card's pending points, soonest release first. No access check: for flows that
    checked it."""
    account = await repository.account_by_card(session, _card(card_number))
    if account is None:
        return []
    rows = await pending_lots(session, account.id, limit)
    return [PendingPointsOut(points=points, available_at=at, order_id=order) for points, at, order in rows]
