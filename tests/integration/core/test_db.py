"""The kernel's database plumbing on a real PostgreSQL: idle-connection pings, autocommit
sessions, and many rows of several tables in one statement."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core import db as database
from app.core.db import autocommit, create_engine, create_sessionmaker, insert_rows, transaction
from app.core.models import IdempotencyRecord, OutboxEvent
from tests.conftest import SETTINGS


@pytest.fixture
async def small_engine() -> AsyncIterator[AsyncEngine]:
    """An engine of our own, one pooled connection, so a test knows which connection it gets."""
    engine = create_engine(replace(SETTINGS, db_pool_size=1, db_max_overflow=0))
    yield engine
    await engine.dispose()


def _pooled_records(engine: AsyncEngine) -> list[Any]:
    """The pool's connection records, as they are checked in."""
    records: list[Any] = []
    event.listen(engine.sync_engine.pool, "checkin", lambda conn, record: records.append(record))
    return records


def _age(records: list[Any], seconds: float) -> None:
    for record in records:
        record.info["idle_since"] -= seconds


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL sent on `engine` meanwhile."""
    seen: list[str] = []

    def _seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _seen)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _seen)


async def _backend_pid(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def test_a_connection_used_moments_ago_is_not_pinged(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = create_sessionmaker(small_engine)
    records = _pooled_records(small_engine)
    first = await _backend_pid(maker)
    dialect = small_engine.sync_engine.dialect
    pings: list[object] = []
    original = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or original(conn))
    assert await _backend_pid(maker) == first  # the same pooled connection, no ping
    assert pings == []
    _age(records, 60)
    assert await _backend_pid(maker) == first  # idle a minute: pinged, alive, kept
    assert len(pings) == 1


async def test_an_idle_connection_that_died_is_replaced_on_checkout(small_engine: AsyncEngine) -> None:
    maker = create_sessionmaker(small_engine)
    records = _pooled_records(small_engine)
    dead = await _backend_pid(maker)
    killer = create_engine(SETTINGS)
    async with transaction(create_sessionmaker(killer)) as other:
        assert await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}) is True
    await killer.dispose()
    # Pretend the pooled connection sat idle for a minute: the checkout pings, finds it dead,
    # and hands out a new connection instead of failing the request.
    _age(records, 60)
    alive = await _backend_pid(maker)
    assert alive != dead and alive > 0


async def test_autocommit_reads_without_begin_and_each_write_stands_alone(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    key_id = uuid.uuid4()
    async with autocommit(committed) as session:
        await session.execute(
            IdempotencyRecord.__table__.insert().values(
                api_key_id=key_id, key="k1", method="POST", path="/v1/x", request_hash=b"h"
            )
        )
        # Inside a transaction the insert's transaction id would still be assigned here.
        assert await session.scalar(text("SELECT pg_current_xact_id_if_assigned()")) is None
        with pytest.raises(DBAPIError):  # a failing statement takes back only itself
            await session.execute(text("SELECT 1 / 0"))
    async with committed() as session:
        keys = (
            await session.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.api_key_id == key_id))
        ).all()
    assert keys == ["k1"]


async def test_insert_rows_writes_several_tables_in_one_statement(db: AsyncSession) -> None:
    key_id = uuid.uuid4()
    event_id = uuid.uuid4()
    records = [
        # bytea travels in PostgreSQL's hex text form (the JSON has no bytes)
        {"api_key_id": key_id, "key": f"k{n}", "method": "POST", "path": "/v1/x", "request_hash": "\\x0102"}
        for n in range(3)
    ]
    events = [
        {
            "event_id": event_id,
            "type": "test.rows",
            "schema_version": 1,
            "aggregate_type": "test",
            "aggregate_id": "a",
            "payload": {"n": [1, 2], "s": "é"},
            "occurred_at": "2026-11-26T10:00:00Z",
        }
    ]
    driver = (await (await db.connection()).get_raw_connection()).driver_connection
    seen: list[str] = []

    def logger(query: Any) -> None:
        seen.append(query.query)

    driver.add_query_logger(logger)
    try:
        await insert_rows(db, {IdempotencyRecord: records, OutboxEvent: events})
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not inline
    finally:
        driver.remove_query_logger(logger)
    assert len([s for s in seen if "SAVEPOINT" not in s]) == 1
    got = (
        await db.execute(
            select(IdempotencyRecord.key, IdempotencyRecord.request_hash)
            .where(IdempotencyRecord.api_key_id == key_id)
            .order_by(IdempotencyRecord.key)
        )
    ).all()
    assert [tuple(row) for row in got] == [("k0", b"\x01\x02"), ("k1", b"\x01\x02"), ("k2", b"\x01\x02")]
    written = (await db.scalars(select(OutboxEvent).where(OutboxEvent.event_id == event_id))).one()
    assert (written.type, written.payload, written.occurred_at.isoformat()) == (
        "test.rows",
        {"n": [1, 2], "s": "é"},
        "2026-11-26T10:00:00+00:00",
    )


_INSERT_RECORD = (
    "INSERT INTO idempotency_records (api_key_id, key, method, path, request_hash) VALUES ($1, $2, 'POST', '/v1/x', $3)"
)


async def test_driver_statements_run_inside_the_sessions_transaction(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    key_id = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with transaction(committed) as session:
            # the driver statement is the transaction's first: it must begin it, not autocommit
            await database.execute(session, _INSERT_RECORD, key_id, "k1", b"h")
            assert await database.fetchval(session, "SELECT pg_current_xact_id_if_assigned() IS NOT NULL") is True
            raise RuntimeError("roll back")
    async with committed() as session:
        assert (
            await database.fetchval(session, "SELECT count(*) FROM idempotency_records WHERE api_key_id = $1", key_id)
            == 0
        )
    async with transaction(committed) as session:
        await database.executemany(session, _INSERT_RECORD, [(key_id, "k1", b"h"), (key_id, "k2", b"h")])
        # SQLAlchemy's statements of the same session see the driver's writes
        keys = await session.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.api_key_id == key_id))
        assert sorted(keys) == ["k1", "k2"]
    async with autocommit(committed) as session:
        rows = await database.fetch(
            session, "SELECT key FROM idempotency_records WHERE api_key_id = $1 ORDER BY key", key_id
        )
        assert [row["key"] for row in rows] == ["k1", "k2"]
        assert await database.fetchrow(session, "SELECT 1 WHERE false") is None


async def test_driver_errors_are_sqlalchemys_and_take_back_the_whole_transaction(db: AsyncSession) -> None:
    key_id = uuid.uuid4()
    await database.execute(db, _INSERT_RECORD, key_id, "k1", b"h")
    with pytest.raises(IntegrityError) as caught:
        await database.execute(db, _INSERT_RECORD, key_id, "k1", b"h")
    assert getattr(caught.value.orig, "sqlstate", None) == "23505"
    with pytest.raises(DBAPIError):
        await database.fetchval(db, "SELECT 1 / $1::int", 0)


async def test_a_transactions_first_driver_statement_fails_as_sqlalchemys_error_too(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    """The first statement of a transaction runs on the DBAPI cursor (it begins the
    transaction), the next ones straight on asyncpg: both fail as SQLAlchemy's errors."""
    key_id = uuid.uuid4()
    async with transaction(committed) as session:
        await database.execute(session, _INSERT_RECORD, key_id, "k1", b"h")
    with pytest.raises(IntegrityError) as first:
        async with transaction(committed) as session:
            await database.execute(session, _INSERT_RECORD, key_id, "k1", b"h")
    assert getattr(first.value.orig, "sqlstate", None) == "23505"
    assert type(first.value.orig.__cause__).__name__ == "UniqueViolationError"  # asyncpg's, for constraint names
    with pytest.raises(IntegrityError) as later:
        async with transaction(committed) as session:
            await database.execute(session, _INSERT_RECORD, key_id, "k2", b"h")
            await database.execute(session, _INSERT_RECORD, key_id, "k1", b"h")
    assert type(later.value.orig).__name__ == type(first.value.orig).__name__ == "UniqueViolationError"
    assert type(later.value.orig.__cause__).__name__ == "UniqueViolationError"
    async with committed() as session:
        keys = await database.fetch(session, "SELECT key FROM idempotency_records WHERE api_key_id = $1", key_id)
    assert [row["key"] for row in keys] == ["k1"]  # k2 went with its transaction


async def test_a_driver_statement_on_a_dead_connection_invalidates_it(small_engine: AsyncEngine) -> None:
    maker = create_sessionmaker(small_engine)
    dead = await _backend_pid(maker)
    killer = create_engine(SETTINGS)
    async with transaction(create_sessionmaker(killer)) as other:
        assert await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}) is True
    await killer.dispose()
    with pytest.raises(DBAPIError) as caught:
        async with transaction(maker) as session:
            await database.fetchval(session, "SELECT 1")
    assert caught.value.connection_invalidated
    assert await _backend_pid(maker) not in (0, dead)  # the pool opened a new connection


async def test_a_session_used_for_two_transactions_runs_each_on_its_own_connection(
    small_engine: AsyncEngine, committed: async_sessionmaker[AsyncSession]
) -> None:
    maker = create_sessionmaker(small_engine)
    key_id = uuid.uuid4()
    async with maker() as session:
        async with session.begin():
            await database.execute(session, _INSERT_RECORD, key_id, "k1", b"h")
        # the first transaction's connection went back to the pool; the next one begins anew
        async with session.begin():
            assert await database.fetchval(session, "SELECT pg_current_xact_id_if_assigned()") is None
            await database.execute(session, _INSERT_RECORD, key_id, "k2", b"h")
            await session.rollback()
    async with committed() as session:
        keys = await database.fetch(session, "SELECT key FROM idempotency_records WHERE api_key_id = $1", key_id)
    assert [row["key"] for row in keys] == ["k1"]


async def test_prepared_statements_are_planned_once_per_connection(small_engine: AsyncEngine) -> None:
    # PostgreSQL's default re-plans hot statements at each execution against the statistics
    # (costly with a big catalog); the app's connections plan them once.
    async with autocommit(create_sessionmaker(small_engine)) as session:
        assert await database.fetchval(session, "SHOW plan_cache_mode") == SETTINGS.db_plan_cache_mode
    assert SETTINGS.db_plan_cache_mode == "force_generic_plan"
