"""Transactional outbox: events are rows written in the transaction of the change.

`event_row()` builds an event, `write()` writes events (`record()` = both, for one event);
a one-statement use case puts `event_row`s among its other rows (`db.insert_rows`), and a
statement that computes its events in SQL uses `insert_select`. The relay (`outbox.relay`
actor, run after each commit and every second by `oms worker`) publishes unpublished events, oldest first, to the Redis
stream `oms:events`, to the handlers registered in its transaction and to the registered
consumer actors, then marks them published.
The table is partitioned by month on occurred_at (app.core.partitions); `oms prune` never
drops a month that still holds an unpublished event.
Delivery is at least once: a crash between publishing and marking repeats the
publication, and consumers dedupe on `event_id`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, db
from app.core.models import OutboxEvent

log = logging.getLogger("oms.outbox")

# event type -> functions that enqueue a consumer job for that event (`send(event_id)`).
_consumers: dict[str, list[Callable[[str], Any]]] = {}


def subscribe(event_type: str, send: Callable[[str], Any]) -> None:
    """Register a consumer: `send(event_id)` is called for each published event of that type."""
    _consumers.setdefault(event_type, []).append(send)


def consumers_of(event_type: str) -> list[Callable[[str], Any]]:
    return _consumers.get(event_type, []) + _consumers.get("*", [])


# Handlers run inside the relay's transaction, for consumers that keep their own work queue in
# the database (webhook deliveries): their rows and "published" commit together, so a broker
# that loses its messages (Redis restarted empty) loses none of that work.
_in_transaction: list[Callable[[AsyncSession, Sequence[OutboxEvent]], Awaitable[None]]] = []


def subscribe_in_transaction(handler: Callable[[AsyncSession, Sequence[OutboxEvent]], Awaitable[None]]) -> None:
    """Register `await handler(session, events)`, called with every batch the relay publishes,
    in its transaction, before the batch is marked published. Database writes only."""
    if handler not in _in_transaction:
        _in_transaction.append(handler)


# The columns an event is written with (the rest are the table's defaults: id, txid).
COLUMNS = ("event_id", "type", "schema_version", "aggregate_type", "aggregate_id", "payload", "occurred_at")


def event_row(
    type: str, *, aggregate_type: str, aggregate_id: str, payload: dict[str, Any], schema_version: int = 1
) -> dict[str, Any]:
    """An event as a row of `outbox_events` (its COLUMNS): the one place an event is built.
    Write it with `write`, or with the other rows of a one-statement use case
    (`app.core.db.insert_rows(session, {OutboxEvent: [...], ...})`, `db.rows_cte`)."""
    return {
        "event_id": uuid.uuid4(),
        "type": type,
        "schema_version": schema_version,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "payload": msgspec.to_builtins(payload),
        "occurred_at": clock.now(),
    }


async def write(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Write events (rows of `event_row`) in the session's transaction, in one statement, in
    their order: the one path an event reaches the table, for ORM use cases and driver ones."""
    await db.insert_rows(session, {OutboxEvent: rows})


async def record(
    session: AsyncSession,
    type: str,
    *,
    aggregate_type: str,
    aggregate_id: str,
    payload: dict[str, Any],
    schema_version: int = 1,
) -> uuid.UUID:
    """Write one event now, in the transaction of the change."""
    row = event_row(
        type, aggregate_type=aggregate_type, aggregate_id=aggregate_id, payload=payload, schema_version=schema_version
    )
    await write(session, [row])
    event_id: uuid.UUID = row["event_id"]
    return event_id


def insert_select(
    source: str, *, type: str, aggregate_type: str, aggregate_id: str, payload: str, occurred_at: str
) -> str:
    """`write` for events a statement computes itself, one per row of `source` (SQL: a stock
    level after its update, a reservation's new id): the same COLUMNS as `event_row`, as SQL
    expressions over `source`. For a use case that knows its events only inside one statement."""
    values = ("gen_random_uuid()", f"'{type}'", "1", f"'{aggregate_type}'", aggregate_id, payload, occurred_at)
    return f"INSERT INTO {OutboxEvent.__tablename__} ({', '.join(COLUMNS)}) SELECT {', '.join(values)} FROM {source}"


def envelope(event: OutboxEvent) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "type": event.type,
        "schema_version": event.schema_version,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
    }


async def relay_batch(session: AsyncSession, redis: Redis, stream: str, limit: int = 500) -> int:
    """Publish up to `limit` unpublished events; returns how many. Concurrent relays skip
    each other's rows (SKIP LOCKED), so two workers never hold the same batch."""
    events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not events:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(stream, {"event": msgspec.json.encode(envelope(event))}, maxlen=1_000_000, approximate=True)
        await pipe.execute()
    for handler in _in_transaction:
        await handler(session, events)
    for event in events:
        for send in consumers_of(event.type):
            send(str(event.event_id))
    # The month range of the batch lets PostgreSQL skip the other monthly partitions (the key
    # is (id, occurred_at)): the update probes one or two partitions, not every month.
    await session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id.in_([e.id for e in events]),
            OutboxEvent.occurred_at.between(min(e.occurred_at for e in events), max(e.occurred_at for e in events)),
        )
        .values(published_at=clock.now())
    )
    return len(events)


TABLE = OutboxEvent.__tablename__


async def unpublished_before(session: AsyncSession, cutoff: datetime) -> int:
    """How many events that occurred before `cutoff` the relay has not published yet."""
    count = await db.fetchval(
        session, f"SELECT count(*) FROM {TABLE} WHERE published_at IS NULL AND occurred_at < $1", cutoff
    )
    return int(count)
