"""Usage limits under real concurrency: separate connections, committed data."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import transaction
from app.pricing import service
from app.pricing.errors import UsageLimitReached
from app.pricing.models import Promotion, PromotionCode, Redemption
from app.pricing.rules import Kind
from tests.factories.pricing import promotion, set_price, shop


async def _setup(maker: async_sessionmaker[AsyncSession], **promotion_fields: object) -> uuid.UUID:
    async with transaction(maker) as session:
        await shop(session)
        await set_price(session, "MUG", 1200)
        promo = await promotion(session, Kind.ORDER_AMOUNT_OFF, amount=200, currency="EUR", **promotion_fields)
        return promo.id


async def _race(maker: async_sessionmaker[AsyncSession], buyers: int, codes: tuple[str, ...]) -> list[str]:
    """Every buyer quotes first (all see a use left), then all redeem at once."""
    quoted = asyncio.Barrier(buyers)

    async def buyer() -> str:
        try:
            async with transaction(maker) as session:
                q = await service.quote(
                    session,
                    service.QuoteInput(currency="EUR", lines=(service.QuoteLine("MUG", 1),), codes=codes),
                )
                assert q.result.total == 1000, q.result.codes
                await quoted.wait()
                await service.redeem(session, quote=q, order_id=uuid.uuid4())
            return "redeemed"
        except UsageLimitReached:
            return "refused"

    return await asyncio.gather(*(buyer() for _ in range(buyers)))


async def test_two_concurrent_last_redemptions_of_a_code_exactly_one_succeeds(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    await _setup(committed, code="LASTONE", code_max_uses=1)
    outcomes = await _race(committed, 2, ("LASTONE",))
    assert sorted(outcomes) == ["redeemed", "refused"]
    async with committed() as session:
        code = await session.get(PromotionCode, "LASTONE")
        assert code is not None and code.times_used == 1
        assert await session.scalar(select(func.count()).select_from(Redemption)) == 1


async def test_twelve_buyers_for_four_uses_of_a_promotion(committed: async_sessionmaker[AsyncSession]) -> None:
    # 12 buyers hold a connection each at the barrier: within the test pool (10 + 5 overflow)
    promotion_id = await _setup(committed, usage_limit=4)
    outcomes = await _race(committed, 12, ())
    assert outcomes.count("redeemed") == 4
    assert outcomes.count("refused") == 8
    async with committed() as session:
        promo = await session.get(Promotion, promotion_id)
        assert promo is not None and promo.times_used == 4
        assert await session.scalar(select(func.count()).select_from(Redemption)) == 4
