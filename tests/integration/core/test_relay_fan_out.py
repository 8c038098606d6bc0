"""Webhook deliveries are written in the relay's own transaction, so a broker that loses its
messages (Redis restarted empty) loses no event; coalescing keeps the newest state even when
two relays run at once."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import app.integration.jobs  # noqa: F401  (registers the in-transaction fan-out, as the worker does)
from app.core import outbox
from app.core.db import transaction
from app.core.models import OutboxEvent
from app.integration import service
from app.integration.models import WebhookDelivery


@pytest.fixture
async def redis() -> Redis:
    client = Redis.from_url(os.environ["REDIS_URL"])
    yield client
    await client.aclose()


async def _subscribe(maker: async_sessionmaker[AsyncSession], types: list[str]) -> uuid.UUID:
    async with transaction(maker) as session:
        created = await service.create_subscription(session, "http://127.0.0.1:9/hook", types, None)
    return created.id


async def _record(maker: async_sessionmaker[AsyncSession], type_: str, payload: dict[str, object]) -> OutboxEvent:
    async with transaction(maker) as session:
        event_id = await outbox.record(session, type_, aggregate_type="test", aggregate_id="1", payload=payload)
    async with maker() as session:
        event = await session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))
    assert event is not None
    return event


async def _deliveries(maker: async_sessionmaker[AsyncSession]) -> list[tuple[str, uuid.UUID, str | None]]:
    async with maker() as session:
        rows = await session.execute(
            select(WebhookDelivery.event_type, WebhookDelivery.event_id, WebhookDelivery.coalesce_key).order_by(
                WebhookDelivery.event_type
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def test_the_relay_commits_the_deliveries_with_published(
    committed: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    await _subscribe(committed, ["*"])
    old = await _record(committed, "stock.changed", {"sku": "A", "location": "S1", "on_hand": 5})
    new = await _record(committed, "stock.changed", {"sku": "A", "location": "S1", "on_hand": 4})
    placed = await _record(committed, "order.placed", {"order": "X"})
    stream = f"test:relay:{uuid.uuid4().hex}"
    async with transaction(committed) as session:
        assert await outbox.relay_batch(session, redis, stream) == 3
    await redis.delete(stream)
    # No fan_out message ran (no worker here): the rows are already there, found by the sweep.
    assert await _deliveries(committed) == [
        ("order.placed", placed.event_id, None),
        ("stock.changed", new.event_id, "A@S1"),
    ]
    assert old.event_id != new.event_id


async def test_an_older_event_never_replaces_a_newer_pending_one(committed: async_sessionmaker[AsyncSession]) -> None:
    await _subscribe(committed, ["stock.changed"])
    old = await _record(committed, "stock.changed", {"sku": "B", "location": "S1", "on_hand": 5})
    new = await _record(committed, "stock.changed", {"sku": "B", "location": "S1", "on_hand": 4})
    async with transaction(committed) as session:
        assert len(await service.fan_out(session, new.event_id)) == 1
    async with transaction(committed) as session:
        assert await service.fan_out(session, old.event_id) == []
    assert await _deliveries(committed) == [("stock.changed", new.event_id, "B@S1")]


async def test_a_newer_event_waits_for_an_uncommitted_pending_row_and_replaces_it(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    """The race that dropped the newest state: relay 1 has inserted a pending row (not yet
    committed) when relay 2 queues a newer event of the same SKU and location."""
    await _subscribe(committed, ["stock.changed"])
    old = await _record(committed, "stock.changed", {"sku": "C", "location": "S1", "on_hand": 5})
    new = await _record(committed, "stock.changed", {"sku": "C", "location": "S1", "on_hand": 4})
    async with committed() as first:
        await first.begin()
        assert len(await service.fan_out(first, old.event_id)) == 1

        async def second() -> list[int]:
            async with transaction(committed) as session:
                return await service.fan_out(session, new.event_id)

        racing = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not racing.done()  # it waits on the first relay's pending row
        await first.commit()
    assert len(await racing) == 1
    assert await _deliveries(committed) == [("stock.changed", new.event_id, "C@S1")]
