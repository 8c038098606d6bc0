"""Statements on redemptions: taking and giving back promotion, code and customer uses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing.models import CustomerUse, Promotion, PromotionCode, Redemption


async def limits_of(session: AsyncSession, promotion_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = await session.execute(
        select(Promotion.id, Promotion.usage_limit, Promotion.usage_limit_per_customer).where(
            Promotion.id.in_(promotion_ids)
        )
    )
    return {row.id: row for row in rows}


async def redeemed_promotions(session: AsyncSession, order_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(select(Redemption.promotion_id).where(Redemption.order_id == order_id))
    return set(rows.all())


async def take_promotion_use(session: AsyncSession, promotion_id: uuid.UUID) -> bool:
    """One use of a limited promotion, if any is left. The row lock makes concurrent last
    uses queue: the second re-reads the committed count and finds none left."""
    taken = await session.execute(
        update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.times_used < Promotion.usage_limit)
        .values(times_used=Promotion.times_used + 1)
        .returning(Promotion.id)
    )
    return taken.first() is not None


async def code_limits(session: AsyncSession, codes: Sequence[str]) -> dict[str, int | None]:
    if not codes:
        return {}
    rows = await session.execute(
        select(PromotionCode.code, PromotionCode.max_uses).where(PromotionCode.code.in_(codes))
    )
    return {row.code: row.max_uses for row in rows}


async def take_code_use(session: AsyncSession, code: str) -> bool:
    """One use of a code with a maximum (codes without one are not counted: no hot row)."""
    taken = await session.execute(
        update(PromotionCode)
        .where(PromotionCode.code == code, PromotionCode.times_used < PromotionCode.max_uses)
        .values(times_used=PromotionCode.times_used + 1)
        .returning(PromotionCode.code)
    )
    return taken.first() is not None


async def take_customer_use(session: AsyncSession, promotion_id: uuid.UUID, customer_id: uuid.UUID, limit: int) -> bool:
    statement = insert(CustomerUse).values(promotion_id=promotion_id, customer_id=customer_id, times_used=1)
    taken = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["promotion_id", "customer_id"],
            set_={"times_used": CustomerUse.times_used + 1},
            where=CustomerUse.times_used < limit,
        ).returning(CustomerUse.times_used)
    )
    return taken.first() is not None


async def insert_redemptions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Redemption).values(rows))


async def give_back_redemptions(session: AsyncSession, order_id: uuid.UUID, at: datetime) -> list[Any]:
    """Mark the order's live redemptions given back; returns them (none when already done)."""
    rows = await session.execute(
        update(Redemption)
        .where(Redemption.order_id == order_id, Redemption.given_back_at.is_(None))
        .values(given_back_at=at)
        .returning(Redemption.promotion_id, Redemption.code, Redemption.customer_id)
    )
    return sorted(rows.all(), key=lambda r: r.promotion_id)


async def return_promotion_use(session: AsyncSession, promotion_id: uuid.UUID) -> None:
    await session.execute(
        update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.usage_limit.is_not(None), Promotion.times_used > 0)
        .values(times_used=Promotion.times_used - 1)
    )


async def return_code_use(session: AsyncSession, code: str) -> None:
    await session.execute(
        update(PromotionCode)
        .where(PromotionCode.code == code, PromotionCode.max_uses.is_not(None), PromotionCode.times_used > 0)
        .values(times_used=PromotionCode.times_used - 1)
    )


async def return_customer_use(session: AsyncSession, promotion_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(
        update(CustomerUse)
        .where(
            CustomerUse.promotion_id == promotion_id,
            CustomerUse.customer_id == customer_id,
            CustomerUse.times_used > 0,
        )
        .values(times_used=CustomerUse.times_used - 1)
    )
