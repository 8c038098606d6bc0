"""Customers actors: housekeeping of expired customer tokens."""

from __future__ import annotations

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker is set before actors are declared)
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.customers import service


@dramatiq.actor(actor_name="customers.purge_expired_tokens", max_retries=3, time_limit=60_000)
async def purge_expired_tokens() -> None:
    """Idempotent: deleting what has expired twice deletes nothing the second time."""
    async with transaction(job_sessionmaker()) as session:
        await service.purge_expired_tokens(session)


# (actor name, seconds between runs) — sent by `oms worker`'s scheduler.
PERIODIC: list[tuple[str, float]] = [("customers.purge_expired_tokens", 3600.0)]
