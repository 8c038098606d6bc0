"""Orders actors: cart expiry (periodic) and settling card tenders with the gateway."""

from __future__ import annotations

import uuid

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker before any actor)
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.orders.payments.settling import settle_payments as settle
from app.orders.usecases.carts import expire_carts as expire

EXPIRY_BATCH = 200


@dramatiq.actor(actor_name="orders.expire_carts", max_retries=3, time_limit=120_000)
async def expire_carts() -> None:
    """Idle carts close and release their holds; batches until none is left (idempotent)."""
    while True:
        async with transaction(job_sessionmaker()) as session:
            expired = await expire(session, EXPIRY_BATCH)
        if expired < EXPIRY_BATCH:
            return


@dramatiq.actor(actor_name="orders.settle_payments", max_retries=20, min_backoff=2_000, time_limit=120_000)
async def settle_payments(order_id: str) -> None:
    """Idempotent: gateway calls are keyed by the cumulative amounts."""
    await settle(job_sessionmaker(), uuid.UUID(order_id))


PERIODIC: list[tuple[str, float]] = [("orders.expire_carts", 60.0)]
