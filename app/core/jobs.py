"""Kernel actors: the outbox relay, the history's monthly partitions created ahead, expired
idempotency records deleted. Every actor opens its own transaction."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import dramatiq
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import broker as _broker  # noqa: F401
from app.core import clock, idempotency, outbox, partitions
from app.core.db import create_engine, create_sessionmaker, transaction
from app.core.settings import get_settings


@lru_cache(maxsize=1)
def job_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """One engine per worker process, created on the AsyncIO middleware's event loop."""
    return create_sessionmaker(create_engine(get_settings()))


@lru_cache(maxsize=1)
def job_redis() -> Redis:
    return Redis.from_url(get_settings().redis_url or "redis://127.0.0.1:6379")


@dramatiq.actor(actor_name="outbox.relay", max_retries=3, time_limit=60_000)
async def relay() -> None:
    settings = get_settings()
    while True:
        async with transaction(job_sessionmaker()) as session:
            published = await outbox.relay_batch(session, job_redis(), settings.outbox_stream)
        if published == 0:
            return


@dramatiq.actor(actor_name="history.partitions", max_retries=3, time_limit=300_000)
async def create_partitions_ahead() -> None:
    """This month's and the next months' partitions of the ledger and the outbox (idempotent)."""
    async with transaction(job_sessionmaker()) as session:
        await partitions.ensure_partitions(session, clock.now())


@dramatiq.actor(actor_name="idempotency.expire", max_retries=3, time_limit=300_000)
async def expire_idempotency_records() -> None:
    before = clock.now() - timedelta(days=get_settings().idempotency_ttl_days)
    while True:
        async with transaction(job_sessionmaker()) as session:
            deleted = await idempotency.expire(session, before)
        if deleted == 0:
            return


# (actor name, seconds between runs) — sent by `oms worker`'s scheduler.
PERIODIC: list[tuple[str, float]] = [
    ("outbox.relay", 1.0),
    ("history.partitions", 3600.0),
    ("idempotency.expire", 3600.0),
]
