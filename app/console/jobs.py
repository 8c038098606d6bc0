"""Console actors: housekeeping of expired staff sessions."""

from __future__ import annotations

import dramatiq

from app.console import service
from app.core import broker as _broker  # noqa: F401  (the broker is set before actors are declared)
from app.core.db import transaction
from app.core.jobs import job_sessionmaker


@dramatiq.actor(actor_name="console.purge_expired_sessions", max_retries=3, time_limit=60_000)
async def purge_expired_sessions() -> None:
    """Idempotent: what expired is deleted once; a second run finds nothing."""
    async with transaction(job_sessionmaker()) as session:
        await service.purge_expired_sessions(session)


# (actor name, seconds between runs) — sent by `oms worker`'s scheduler.
PERIODIC: list[tuple[str, float]] = [("console.purge_expired_sessions", 3600.0)]
