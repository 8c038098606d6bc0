"""The Dramatiq broker (Redis), set before any actor is declared.

Entry points (`oms serve`, `oms worker`, the tests) export REDIS_URL first; actors
are `async def` and run on the AsyncIO middleware's event loop. Jobs are enqueued
only after the transaction that asked for them commits (`enqueue_after_commit`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.asyncio import AsyncIO
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit

log = logging.getLogger("oms.broker")


def _build() -> dramatiq.Broker:
    url = os.environ.get("REDIS_URL")
    namespace = os.environ.get("OMS_QUEUE_NAMESPACE") or "dramatiq"
    # A killed worker's unacknowledged messages go back to the queue once its heartbeat is
    # older than the timeout, found by the "maintenance" that runs on a share of broker
    # commands (Dramatiq's defaults: 60 s, 1000 per million); the fleet test shortens both.
    heartbeat_ms = int(os.environ.get("OMS_BROKER_HEARTBEAT_TIMEOUT_MS") or 60_000)
    maintenance = int(os.environ.get("OMS_BROKER_MAINTENANCE_CHANCE") or 1000)
    # StubBroker is only reached by imports outside the entry points (e.g. tooling).
    broker: dramatiq.Broker = (
        RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace=namespace,
            socket_timeout=5,
            socket_connect_timeout=2,
            heartbeat_timeout=heartbeat_ms,
            maintenance_chance=maintenance,
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
