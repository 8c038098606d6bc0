"""Returns actors: card refunds at the gateway after the refund committed, and a sweep for
refunds whose nudge was lost (Redis down at commit, a worker crash)."""

from __future__ import annotations

import uuid

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker before any actor)
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.orders.returns.usecases.settling import pending_refund_returns
from app.orders.returns.usecases.settling import settle_refunds as settle

SWEEP_BATCH = 100


@dramatiq.actor(actor_name="returns.settle_refunds", max_retries=20, min_backoff=2_000, time_limit=120_000)
async def settle_refunds(return_id: str) -> None:
    """Idempotent: each gateway refund is keyed by the refund's id."""
    await settle(job_sessionmaker(), uuid.UUID(return_id))


@dramatiq.actor(actor_name="returns.sweep_refunds", max_retries=3, time_limit=300_000)
async def sweep_refunds() -> None:
    async with transaction(job_sessionmaker()) as session:
        pending = await pending_refund_returns(session, SWEEP_BATCH)
    for return_id in pending:
        await settle(job_sessionmaker(), return_id)


PERIODIC: list[tuple[str, float]] = [("returns.sweep_refunds", 300.0)]
