"""Inventory actors: releasing expired holds."""

from __future__ import annotations

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker is set before actors are declared)
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.inventory import service


@dramatiq.actor(actor_name="inventory.expire_reservations", max_retries=3, time_limit=120_000)
async def expire_reservations() -> None:
    """Idempotent and safe to run concurrently: each batch claims its reservations with
    SKIP LOCKED and closes them in the same transaction, so nothing is released twice."""
    while True:
        async with transaction(job_sessionmaker()) as session:
            released = await service.expire_reservations(session, limit=500)
        if released < 500:
            return


# (actor name, seconds between runs) — sent by `oms worker`'s scheduler.
PERIODIC: list[tuple[str, float]] = [("inventory.expire_reservations", 30.0)]
