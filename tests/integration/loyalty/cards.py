"""Loyalty test helpers: customers with cards, earnings with one call."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Channel, Principal, Role
from app.customers import service as customers_service
from app.customers.schemas import CustomerCreate
from app.loyalty import service
from app.loyalty.models import LedgerEntry, LoyaltyAccount
from app.loyalty.schemas import Earning

POS = Principal(key_id=uuid.uuid4(), role=Role.POS, channel=Channel.POS, location_code="STORE-TEST")
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def new_card(session: AsyncSession, name: str = "Ada") -> tuple[uuid.UUID, str]:
    customer = await customers_service.create_customer(session, POS, CustomerCreate(name=name))
    return customer.id, customer.card_number


async def earn(
    session: AsyncSession,
    card: str,
    lines: Sequence[tuple[str, int]],
    *,
    source: str | None = None,
    channel: str = "web",
    points_paid: int = 0,
    at: datetime | None = None,
    event_type: str = "fulfillment.delivered",
) -> Earning:
    return await service.earn(
        session,
        source_id=source or f"fo-{uuid.uuid4()}",
        event_type=event_type,
        card_number=card,
        channel=channel,
        lines=list(lines),
        currency="EUR",
        occurred_at=at or START,
        points_paid_minor=points_paid,
        order_id=None,
    )


async def account(session: AsyncSession, card: str) -> LoyaltyAccount:
    found = (
        await session.scalars(
            select(LoyaltyAccount).where(LoyaltyAccount.card_number == card).execution_options(populate_existing=True)
        )
    ).one()
    return found


async def ledger(session: AsyncSession, card: str) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(LedgerEntry.kind, LedgerEntry.points)
        .join(LoyaltyAccount, LoyaltyAccount.id == LedgerEntry.account_id)
        .where(LoyaltyAccount.card_number == card)
        .order_by(LedgerEntry.id)
    )
    return [(r[0], r[1]) for r in rows]


async def ledger_sum(session: AsyncSession, card: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0))
        .join(LoyaltyAccount, LoyaltyAccount.id == LedgerEntry.account_id)
        .where(LoyaltyAccount.card_number == card)
    )
    return int(total or 0)
