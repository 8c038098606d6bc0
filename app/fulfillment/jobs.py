"""Fulfilment actors: stores that did not answer in time, pickups not collected in time.

Both are periodic sweeps taking no arguments, idempotent (each row is re-checked under its
lock), batched until nothing is left.
"""

from __future__ import annotations

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker before any actor)
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.flows import fulfillment_progress

BATCH = 50


@dramatiq.actor(actor_name="fulfillment.store_timeouts", max_retries=3, time_limit=300_000)
async def store_timeouts() -> None:
    """A store that has not accepted a ship-from-store order in time is treated as rejecting it."""
    while True:
        async with transaction(job_sessionmaker()) as session:
            handled = await fulfillment_progress.reject_overdue(session, BATCH)
        if handled < BATCH:
            return


@dramatiq.actor(actor_name="fulfillment.expire_pickups", max_retries=3, time_limit=300_000)
async def expire_pickups() -> None:
    """Pickups not collected within the configured days: cancelled, restocked, voided."""
    while True:
        async with transaction(job_sessionmaker()) as session:
            handled = await fulfillment_progress.expire_pickups(session, BATCH)
        if handled < BATCH:
            return


PERIODIC: list[tuple[str, float]] = [("fulfillment.store_timeouts", 60.0), ("fulfillment.expire_pickups", 300.0)]
