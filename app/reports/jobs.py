"""Reports actors: keep the channel dashboard's summary up to date from events.

`reports.refresh_order` takes an event id (order, fulfillment or return event), recomputes
that order's contribution and adds the difference: idempotent, so the relay's
at-least-once delivery and retries are harmless.
`reports.fold_points` (every minute) adds the loyalty ledger rows recorded more than an hour
ago to the points per day.
"""

from __future__ import annotations

import dramatiq

from app.core import broker as _broker  # noqa: F401  (the broker is set before actors are declared)
from app.core import outbox
from app.core.db import transaction
from app.core.jobs import job_sessionmaker
from app.reports import service


@dramatiq.actor(actor_name="reports.refresh_order", max_retries=10, time_limit=60_000)
async def refresh_order(event_id: str) -> None:
    async with transaction(job_sessionmaker()) as session:
        await service.refresh_for_event(session, event_id)


# Every event: the actor ignores those not about an order (cheap: one read by event id), so
# no new order, fulfillment or return event type can be missed.
outbox.subscribe("*", refresh_order.send)


@dramatiq.actor(actor_name="reports.fold_points", max_retries=0, time_limit=60_000)
async def fold_points() -> None:
    async with transaction(job_sessionmaker()) as session:
        await service.fold_points(session)


PERIODIC: list[tuple[str, int]] = [("reports.fold_points", 60)]
