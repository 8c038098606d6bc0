"""Integration actors: fan events out to webhooks, deliver them, retry what is due."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from functools import lru_cache

import dramatiq
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.core.db import after_commit, transaction
from app.core.jobs import job_sessionmaker
from app.core.models import OutboxEvent
from app.integration import service

log = logging.getLogger("oms.integration")
_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


@dramatiq.actor(actor_name="integration.fan_out", max_retries=10)
async def fan_out(event_id: str) -> None:
    async with transaction(job_sessionmaker()) as session:
        queued = await service.fan_out(session, uuid.UUID(event_id))
    for delivery_id in queued:
        deliver.send(delivery_id)


@lru_cache(maxsize=1)
def http_client() -> httpx.AsyncClient:
    """One client per worker process, on the AsyncIO middleware's event loop (like the job
    engine): building one loads the CA bundle, ~60 ms of CPU, more than a delivery costs."""
    return httpx.AsyncClient(timeout=_TIMEOUT)


@dramatiq.actor(actor_name="integration.deliver", max_retries=0)
async def deliver(delivery_id: int) -> None:
    async with transaction(job_sessionmaker()) as session:
        await service.deliver_due(session, http_client(), limit=1, only_id=delivery_id)


@dramatiq.actor(actor_name="integration.deliver_due", max_retries=0, time_limit=120_000)
async def deliver_due() -> None:
    """Retries and anything whose message was lost (Redis down): the database is the truth."""
    while True:
        async with transaction(job_sessionmaker()) as session:
            sent = await service.deliver_due(session, http_client(), limit=20)
        if sent < 20:
            return


async def fan_out_in_relay(session: AsyncSession, events: Sequence[OutboxEvent]) -> None:
    """Deliveries are written in the relay's transaction, not by a `fan_out` message: a message
    lost with Redis's data would lose the event for every webhook. Sending is only a nudge;
    `deliver_due` sends whatever was not nudged."""
    queued = await service.fan_out_batch(session, events)
    if queued:
        after_commit(session, lambda: _nudge(queued))


def _nudge(delivery_ids: list[int]) -> None:
    try:
        for delivery_id in delivery_ids:
            deliver.send(delivery_id)
    except Exception:
        log.warning("could not enqueue webhook deliveries; the periodic sweep sends them")


# `fan_out` stays an actor so messages queued by an older release are still handled.
outbox.subscribe_in_transaction(fan_out_in_relay)

PERIODIC: list[tuple[str, float]] = [("integration.deliver_due", 5.0)]
