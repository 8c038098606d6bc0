"""Races on committed data: real separate connections, use cases at the same time."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.db import transaction
from app.core.errors import Problem
from app.loyalty import service
from app.loyalty.models import Lot, ReversalLine
from tests.integration.loyalty.cards import START, account, earn, ledger, new_card


async def _card_with_points(committed: async_sessionmaker[AsyncSession], points: int) -> str:
    async with transaction(committed) as session:
        _, card = await new_card(session)
        await service.adjust(session, card_number=card, points=points, reason="opening balance")
    return card


async def _redeem(committed: async_sessionmaker[AsyncSession], card: str, points: int, reference: str) -> str:
    try:
        async with transaction(committed) as session:
            await service.redeem(session, card_number=card, points=points, reference=reference, channel="web")
        return "redeemed"
    except Problem as problem:
        return problem.code


async def test_two_redemptions_of_the_last_points_exactly_one_succeeds(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    card = await _card_with_points(committed, 100)
    results = await asyncio.gather(
        _redeem(committed, card, 100, "order-web"), _redeem(committed, card, 100, "order-app")
    )
    assert sorted(results) == ["insufficient_points", "redeemed"]
    async with committed() as session:
        assert (await account(session, card)).available == 0
        assert await ledger(session, card) == [("adjust", 100), ("redeem", -100)]
        assert await service.audit(session) == []


async def test_many_redemptions_at_once_never_overspend(committed: async_sessionmaker[AsyncSession]) -> None:
    card = await _card_with_points(committed, 100)
    results = await asyncio.gather(*(_redeem(committed, card, 30, f"order-{i}") for i in range(12)))
    assert Counter(results) == {"redeemed": 3, "insufficient_points": 9}
    async with committed() as session:
        assert (await account(session, card)).available == 10
        assert await service.audit(session) == []


async def test_the_same_delivery_event_processed_twice_at_once_earns_once(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(committed) as session:
        _, card = await new_card(session)

    async def deliver() -> bool:
        async with transaction(committed) as session:
            return (await earn(session, card, [("l1", 4200)], source="fo-twice")).replayed

    replayed = await asyncio.gather(*(deliver() for _ in range(6)))
    assert sorted(replayed) == [False, True, True, True, True, True]
    async with committed() as session:
        assert (await account(session, card)).pending == 42
        assert await ledger(session, card) == [("earn", 42)]


async def test_returns_racing_their_sales_are_all_applied(committed: async_sessionmaker[AsyncSession]) -> None:
    """An offline till syncs a return and its sale at the same moment: whichever commits
    first, the return ends up applied, never left waiting."""
    clock.freeze(START)
    async with transaction(committed) as session:
        _, card = await new_card(session)

    async def sale(i: int) -> None:
        async with transaction(committed) as session:
            await earn(session, card, [(f"till-{i}", 1000)], source=f"pos-sale-{i}", channel="pos")

    async def refund(i: int) -> None:
        async with transaction(committed) as session:
            await service.reverse(
                session, source_id=f"pos-ret-{i}", event_type="pos.return", lines=[(f"till-{i}", 1000)], channel="pos"
            )

    await asyncio.gather(*(job for i in range(8) for job in (sale(i), refund(i))))
    async with committed() as session:
        waiting = await session.scalar(
            select(func.count()).select_from(ReversalLine).where(ReversalLine.applied_at.is_(None))
        )
        assert waiting == 0
        assert await session.scalar(select(func.sum(Lot.points))) == 0
        acc = await account(session, card)
        assert (acc.pending, acc.available) == (0, 0)
        assert await service.audit(session) == []
