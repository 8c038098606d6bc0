"""The Dramatiq broker (Redis), set before any actor is declared.

Built at import from the settings in force (`REDIS_URL`, `OMS_QUEUE_NAMESPACE`,
`OMS_BROKER_*`): Dramatiq needs its broker before any actor is declared, so entry points
(`oms serve`, `oms worker`, the tests) settle the settings first; actors
are `async def` and run on the AsyncIO middleware's event loop. Jobs are enqueued
only after the transaction that asked for them commits (`enqueue_after_commit`).
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.asyncio import AsyncIO
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit
from app.core.settings import get_settings

log = logging.getLogger("oms.broker")


def _build() -> dramatiq.Broker:
    settings = get_settings()
    url = settings.redis_url
    # StubBroker is only reached by imports outside the entry points (e.g. tooling).
    broker: dramatiq.Broker = (
        RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace=settings.queue_namespace,
            socket_timeout=5,
            socket_connect_timeout=2,
            heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
            maintenance_chance=settings.broker_maintenance_chance,
        )
        if url
        else StubBroker()
    )
    broker.add_middleware(AsyncIO())
    return broker


broker = _build()
dramatiq.set_broker(broker)


def enqueue_after_commit(session: AsyncSession, actor: Any, *args: Any, **kwargs: Any) -> None:
    """Send `actor(*args)` once the current transaction has committed; never before."""

    def send() -> None:
        try:
            actor.send(*args, **kwargs)
        except Exception:
            # Redis down: the work is not lost, the periodic sweeps pick it up.
            log.warning("could not enqueue %s after commit", getattr(actor, "actor_name", actor))

    after_commit(session, send)
