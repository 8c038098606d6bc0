"""The outbox relay publishes committed events at least once, to the Redis stream and consumers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

import msgspec
import pytest
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import outbox
from app.core.db import transaction
from app.core.models import OutboxEvent
from tests.conftest import TEST_DB_URL


@pytest.fixture
async def redis() -> Redis:
    client = Redis.from_url(os.environ["REDIS_URL"])
    yield client
    await client.aclose()


async def _stream_event_ids(redis: Redis, stream: str) -> list[str]:
    entries = await redis.xrange(stream)
    return [msgspec.json.decode(fields[b"event"])["event_id"] for _, fields in entries]


async def test_relay_publishes_each_event_once_in_order(
    committed: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    stream = f"test:events:{uuid.uuid4().hex}"
    consumed: list[str] = []
    outbox.subscribe("test.ping", consumed.append)
    async with transaction(committed) as session:
        ids = [
            await outbox.record(session, "test.ping", aggregate_type="test", aggregate_id=str(i), payload={"n": i})
            for i in range(5)
        ]
    async with transaction(committed) as session:
        assert await outbox.relay_batch(session, redis, stream) == 5
    async with transaction(committed) as session:
        assert await outbox.relay_batch(session, redis, stream) == 0
        published = (await session.scalars(select(OutboxEvent.published_at))).all()
    assert all(p is not None for p in published)
    assert await _stream_event_ids(redis, stream) == [str(i) for i in ids]
    assert consumed == [str(i) for i in ids]
    await redis.delete(stream)


async def test_rolled_back_events_are_never_published(
    committed: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    stream = f"test:events:{uuid.uuid4().hex}"
    with pytest.raises(RuntimeError):
        async with transaction(committed) as session:
            await outbox.record(session, "test.lost", aggregate_type="test", aggregate_id="x", payload={})
            raise RuntimeError("use case failed")
    async with transaction(committed) as session:
        assert await outbox.relay_batch(session, redis, stream) == 0


@pytest.mark.slow
async def test_oms_worker_relays_committed_events(committed: async_sessionmaker[AsyncSession], redis: Redis) -> None:
    """The real `oms worker` (Dramatiq + scheduler) publishes an event committed by someone else."""
    stream = f"test:events:{uuid.uuid4().hex}"
    async with transaction(committed) as session:
        event_id = await outbox.record(session, "test.worker", aggregate_type="test", aggregate_id="w", payload={})
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "OMS_OUTBOX_STREAM": stream}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--processes", "1", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if str(event_id) in await _stream_event_ids(redis, stream):
                break
            await asyncio.sleep(0.3)
        assert str(event_id) in await _stream_event_ids(redis, stream), "worker did not relay the event"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        await redis.delete(stream)


async def test_events_are_written_in_their_order_by_the_one_writer(db: AsyncSession) -> None:
    """`record` and `write` (ORM use cases and one-statement ones) and `insert_select`
    (events a statement computes) write the same row: one event each, in call order."""
    first = await outbox.record(db, "test.one", aggregate_type="thing", aggregate_id="a", payload={"n": 1})
    batch = [
        outbox.event_row(
            "test.two", aggregate_type="thing", aggregate_id="b", payload={"n": 2, "at": uuid.UUID(int=7)}
        ),
        outbox.event_row("test.three", aggregate_type="thing", aggregate_id="c", payload={"n": 3}, schema_version=2),
    ]
    await outbox.write(db, batch)
    await db.execute(
        text(
            outbox.insert_select(
                "(VALUES ('d', 4)) AS v(id, n)",
                type="test.four",
                aggregate_type="thing",
                aggregate_id="v.id",
                payload="jsonb_build_object('n', v.n)",
                occurred_at="now()",
            )
        )
    )
    events = (
        await db.scalars(select(OutboxEvent).where(OutboxEvent.type.like("test.%")).order_by(OutboxEvent.id))
    ).all()
    assert [(e.type, e.aggregate_id, e.payload, e.schema_version) for e in events] == [
        ("test.one", "a", {"n": 1}, 1),
        ("test.two", "b", {"n": 2, "at": str(uuid.UUID(int=7))}, 1),
        ("test.three", "c", {"n": 3}, 2),
        ("test.four", "d", {"n": 4}, 1),
    ]
    assert events[0].event_id == first and events[1].event_id == batch[0]["event_id"]
    assert all(e.txid > 0 and e.published_at is None for e in events)
