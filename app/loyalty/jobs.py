"""Loyalty actors: earn on delivery/collection, open cards, release pending points, expire.

Every actor takes ids only, opens its own transaction and is idempotent: earning is keyed
by (source document, event type), opening a card is an upsert, and the periodic sweeps
only touch what is due.
"""

from __future__ import annotations

import logging

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker is set before actors are declared)
from app.core import outbox
from app.core.db import transaction
from app.core.errors import Problem
from app.core.jobs import job_sessionmaker
from app.flows import earn_points
from app.loyalty import service

log = logging.getLogger("oms.loyalty")


@dramatiq.actor(actor_name="loyalty.earn_for_order", max_retries=10, time_limit=60_000)
async def earn_for_order(event_id: str) -> None:
    try:
        async with transaction(job_sessionmaker()) as session:
            await earn_points.earn_for_event(session, event_id)
    except Problem as problem:
        # Bad data or a conflicting repeat: retrying cannot fix it; it needs a person.
        log.error("event %s earned no points: %s %s", event_id, problem.code, problem.detail)


@dramatiq.actor(actor_name="loyalty.open_account", max_retries=10, time_limit=60_000)
async def open_account(event_id: str) -> None:
    async with transaction(job_sessionmaker()) as session:
        await service.open_account_for_event(session, event_id)


@dramatiq.actor(actor_name="loyalty.release_pending", max_retries=3, time_limit=300_000)
async def release_pending() -> None:
    while True:
        async with transaction(job_sessionmaker()) as session:
            if not await service.release_pending(session):
                return


@dramatiq.actor(actor_name="loyalty.expire_points", max_retries=3, time_limit=300_000)
async def expire_points() -> None:
    while True:
        async with transaction(job_sessionmaker()) as session:
            if not await service.expire_points(session):
                return


outbox.subscribe("customer.created", open_account.send)
for _event_type in service.EARNING_EVENTS:
    outbox.subscribe(_event_type, earn_for_order.send)

# (actor name, seconds between runs) — sent by `oms worker`'s scheduler.
PERIODIC: list[tuple[str, float]] = [("loyalty.release_pending", 600.0), ("loyalty.expire_points", 3600.0)]
