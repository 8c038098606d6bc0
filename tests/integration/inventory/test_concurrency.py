"""Races on committed data with real concurrent sessions: no oversell, no deadlock,
`oms check` clean afterwards."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core import clock
from app.core.db import create_sessionmaker
from app.inventory import service
from app.inventory.errors import InsufficientStock
from tests.conftest import SETTINGS, Api
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive

LOCATIONS = {"WH-A": 20, "ST-B": 20, "ST-C": 10}  # 50 units of the hot SKU


@pytest.fixture
async def racers(committed: async_sessionmaker[AsyncSession]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A pool wide enough for every racer to hold its own connection at once."""
    engine = create_async_engine(SETTINGS.async_database_url, pool_size=40, max_overflow=0, pool_timeout=60)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _seed(committed: async_sessionmaker[AsyncSession]) -> list[str]:
    async with committed() as session, session.begin():
        skus = await make_variants(session, 2)
        await make_locations(
            session,
            LocationFactory(code="WH-A", kind="warehouse"),
            LocationFactory(code="ST-B"),
            LocationFactory(code="ST-C"),
        )
        for code, qty in LOCATIONS.items():
            await receive(session, skus[0], code, qty)
        await receive(session, skus[1], "WH-A", 30)
    return skus


async def _check_clean(committed: async_sessionmaker[AsyncSession]) -> None:
    async with committed() as session:
        assert await service.check_integrity(session) == []


async def test_single_unit_reservations_never_oversell(
    committed: async_sessionmaker[AsyncSession], racers: async_sessionmaker[AsyncSession]
) -> None:
    hot, _ = await _seed(committed)
    codes = list(LOCATIONS)

    async def buyer(n: int) -> bool:
        async with racers() as session:
            try:
                async with session.begin():
                    await service.reserve(session, reference=f"hold:{n}", lines=[(hot, codes[n % 3], 1)])
                return True
            except InsufficientStock:
                return False

    results = await asyncio.gather(*(buyer(n) for n in range(200)))
    assert sum(results) == 50
    async with committed() as session:
        assert await service.available_by_location(session, [hot]) == {(hot, c): 0 for c in codes}
    await _check_clean(committed)


async def test_multi_line_reservations_in_opposite_orders_never_deadlock(
    committed: async_sessionmaker[AsyncSession], racers: async_sessionmaker[AsyncSession]
) -> None:
    a, b = await _seed(committed)  # a@WH-A: 20, b@WH-A: 30

    async def buyer(n: int) -> bool:
        lines = [(a, "WH-A", 1), (b, "WH-A", 1)]
        if n % 2:
            lines.reverse()  # half the buyers name the SKUs the other way round
        async with racers() as session:
            try:
                async with session.begin():
                    await service.reserve(session, reference=f"order:{n}", lines=lines)
                    await asyncio.sleep(random.random() / 200)  # hold the locks a little
                return True
            except InsufficientStock:
                return False

    results = await asyncio.gather(*(buyer(n) for n in range(120)))
    assert sum(results) == 20  # a is the constraint
    async with committed() as session:
        assert await service.available_by_location(session, [a, b], ["WH-A"]) == {(a, "WH-A"): 0, (b, "WH-A"): 10}
    await _check_clean(committed)


async def test_releases_consumes_and_reserves_interleaved(
    committed: async_sessionmaker[AsyncSession], racers: async_sessionmaker[AsyncSession]
) -> None:
    a, b = await _seed(committed)

    async def order(n: int) -> str:
        lines = [(b, "WH-A", 1), (a, "ST-B", 1)] if n % 2 else [(a, "ST-B", 1), (b, "WH-A", 1)]
        async with racers() as session:
            try:
                async with session.begin():
                    await service.reserve(session, reference=f"order:{n}", lines=lines)
            except InsufficientStock:
                return "refused"
            async with session.begin():
                if n % 3 == 0:
                    await service.consume(session, reference=f"order:{n}")
                    return "sold"
                await service.release(session, reference=f"order:{n}")
                return "released"

    outcomes = await asyncio.gather(*(order(n) for n in range(90)))
    sold = outcomes.count("sold")
    async with committed() as session:
        left = await service.available_by_location(session, [a, b])
    assert left[(a, "ST-B")] == 20 - sold
    assert left[(b, "WH-A")] == 30 - sold
    await _check_clean(committed)


async def test_concurrent_expiry_runs_release_each_hold_once(
    committed: async_sessionmaker[AsyncSession], racers: async_sessionmaker[AsyncSession]
) -> None:
    hot, _ = await _seed(committed)
    async with committed() as session, session.begin():
        for n in range(20):
            await service.reserve(
                session, reference=f"hold:{n}", lines=[(hot, "WH-A", 1)], expires_at=clock.now() + timedelta(minutes=1)
            )
    clock.advance(timedelta(minutes=2))

    async def run() -> int:
        async with racers() as session, session.begin():
            return await service.expire_reservations(session, limit=7)

    counts = await asyncio.gather(*(run() for _ in range(6)))
    more = await run()
    assert sum(counts) + more + (await run()) == 20
    async with committed() as session:
        assert await service.available_by_location(session, [hot], ["WH-A"]) == {(hot, "WH-A"): 20}
    await _check_clean(committed)


async def test_concurrent_http_holds_combined_per_sku(
    committed: async_sessionmaker[AsyncSession], committed_api: Api
) -> None:
    """The HTTP hold path (combined per SKU in the process): 200 concurrent holds, some of
    them repeating a reference, for 50 units over 3 locations."""
    hot, _ = await _seed(committed)
    codes = list(LOCATIONS)

    async def buyer(n: int) -> int:
        reference = f"hold:{n % 180}"  # 20 buyers resend another's reference
        line = {"sku": hot, "location": codes[n % 3], "quantity": 1}
        while True:  # a 503 (pool busy on a loaded machine) is retried, as its Retry-After asks
            response = await committed_api.as_("storefront").post(
                "/v1/reservations", json={"reference": reference, "lines": [line]}
            )
            if response.status_code != 503:
                return response.status_code
            await asyncio.sleep(0.05)

    statuses = await asyncio.gather(*(buyer(n) for n in range(200)))
    assert set(statuses) <= {201, 409}
    async with committed() as session:
        assert await service.available_by_location(session, [hot]) == {(hot, c): 0 for c in codes}
        reserved = await session.scalar(text("SELECT sum(reserved) FROM stock_levels WHERE sku = :s"), {"s": hot})
        reservations = await session.scalar(text("SELECT count(*) FROM reservations"))
    assert (reserved, reservations) == (50, 50)
    await _check_clean(committed)
