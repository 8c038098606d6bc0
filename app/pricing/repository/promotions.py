"""Statements on promotions and their codes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing.models import CustomerUse, Promotion, PromotionCode, Redemption


async def add_promotion(session: AsyncSession, promotion: Promotion) -> None:
    session.add(promotion)
    await session.flush()


async def get_promotion(session: AsyncSession, promotion_id: uuid.UUID, *, lock: bool = False) -> Promotion | None:
    query = select(Promotion).where(Promotion.id == promotion_id)
    if lock:  # the locked row is the truth: refresh whatever this session had loaded before
        query = query.with_for_update().execution_options(populate_existing=True)
    promotion: Promotion | None = (await session.scalars(query)).first()
    return promotion


async def promotion_page(
    session: AsyncSession,
    after: tuple[datetime, str] | None,
    limit: int,
    *,
    archived: bool,
    live_without_code: tuple[datetime, str | None] | None = None,
) -> list[Promotion]:
    """With `live_without_code=(now, channel)`: only promotions running at `now`, needing no
    code, and open to that channel (a shopper's view)."""
    query = select(Promotion)
    if not archived or live_without_code is not None:
        query = query.where(Promotion.archived_at.is_(None))
    if live_without_code is not None:
        now, channel = live_without_code
        query = query.where(
            Promotion.requires_code.is_(False),
            Promotion.starts_at <= now,
            or_(Promotion.ends_at.is_(None), Promotion.ends_at > now),
            or_(
                func.coalesce(func.cardinality(Promotion.channels), 0) == 0,
                Promotion.channels.any(channel or ""),  # type: ignore[arg-type]
            ),
        )
    if after is not None:
        query = query.where(func.row(Promotion.created_at, Promotion.id) < func.row(after[0], uuid.UUID(after[1])))
    query = query.order_by(Promotion.created_at.desc(), Promotion.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())


async def live_redemptions(session: AsyncSession, promotion_id: uuid.UUID) -> int:
    """Redemptions of the promotion not given back (what a newly introduced limit starts from)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Redemption)
        .where(Redemption.promotion_id == promotion_id, Redemption.given_back_at.is_(None))
    )
    return int(count or 0)


async def recount_customer_uses(session: AsyncSession, promotion_id: uuid.UUID, *, limited: bool) -> None:
    """Rebuild the per-customer counters from the live redemptions (or drop them)."""
    await session.execute(delete(CustomerUse).where(CustomerUse.promotion_id == promotion_id))
    if not limited:
        return
    per_customer = (
        select(Redemption.promotion_id, Redemption.customer_id, func.count())
        .where(
            Redemption.promotion_id == promotion_id,
            Redemption.given_back_at.is_(None),
            Redemption.customer_id.is_not(None),
        )
        .group_by(Redemption.promotion_id, Redemption.customer_id)
    )
    await session.execute(insert(CustomerUse).from_select(["promotion_id", "customer_id", "times_used"], per_customer))


async def insert_codes(
    session: AsyncSession, promotion_id: uuid.UUID, codes: Sequence[str], max_uses: int | None
) -> list[str]:
    """Insert the codes that are free; returns those inserted."""
    inserted = await session.scalars(
        insert(PromotionCode)
        .values([{"code": code, "promotion_id": promotion_id, "max_uses": max_uses} for code in codes])
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(PromotionCode.code)
    )
    return list(inserted.all())


async def code_page(
    session: AsyncSession, promotion_id: uuid.UUID, after: str | None, limit: int
) -> list[PromotionCode]:
    query = select(PromotionCode).where(PromotionCode.promotion_id == promotion_id)
    if after is not None:
        query = query.where(PromotionCode.code > after)
    return list((await session.scalars(query.order_by(PromotionCode.code).limit(limit + 1))).all())
