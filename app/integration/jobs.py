"""Integration actors: fan events out to webhooks, deliver them, retry what is due."""

from __future__ import annotations

import uuid

import dramatiq
import httpx

from app.core import outbox
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.integration import service

_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


@dramatiq.actor(actor_name="integration.fan_out", max_retries=10)
async def fan_out(event_id: str) -> None:
    async with transaction(job_sessionmaker()) as session:
        queued = await service.fan_out(session, uuid.UUID(event_id))
    for delivery_id in queued:
        deliver.send(delivery_id)


@dramatiq.actor(actor_name="integration.deliver", max_retries=0)
async def deliver(delivery_id: int) -> None:
    async with httpx.AsyncClient(timeout=_TIMEOUT) as client, transaction(job_sessionmaker()) as session:
        await service.deliver_due(session, client, limit=1, only_id=delivery_id)


@dramatiq.actor(actor_name="integration.deliver_due", max_retries=0, time_limit=120_000)
async def deliver_due() -> None:
    """Retries and anything whose message was lost (Redis down): the database is the truth."""
    async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
        while True:
            async with transaction(job_sessionmaker()) as session:
                sent = await service.deliver_due(session, client, limit=20)
            if sent < 20:
                return


outbox.subscribe("*", fan_out.send)

PERIODIC: list[tuple[str, float]] = [("integration.deliver_due", 5.0)]
