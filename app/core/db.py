"""Engine, sessions and the declarative base.

The request (or job) owns the transaction: `transaction()` opens one session in one
transaction, commits once at the end, and runs the after-commit hooks (job enqueues,
outbox relay nudges) only once the commit is durable. Services never commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import BigInteger, DateTime, MetaData, event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from app.core.settings import Settings

log = logging.getLogger("oms.db")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), int: BigInteger}


AfterCommit = Callable[[], Awaitable[None] | None]

# A pooled connection idle longer than this is pinged before use. A busy connection is not:
# SQLAlchemy's `pool_pre_ping` pings on every checkout, which on asyncpg is BEGIN, `;`,
# ROLLBACK — three round trips per checkout, more than most requests' own statements. A
# connection that died while in use is detected by its first statement instead: the pool is
# invalidated and that request answers 503 (app.core.errors), the next ones reconnect.
PING_AFTER_IDLE_SECONDS = 5.0


def create_engine(settings: Settings) -> AsyncEngine:
    # A bounded pool: overload waits db_pool_timeout seconds for a connection, then
    # becomes a 503 with Retry-After instead of exhausting PostgreSQL's connections.
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "lock_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "oms",
                "timezone": "UTC",
            },
            "timeout": 5,
        },
    )
    ping_idle_connections(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection on checkout only when it sat idle more than `idle_seconds`;
    a dead one is replaced (the pool retries the checkout with a new connection)."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # fresh, or used moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error


def create_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


def rows_cte(
    name: str,
    table: str,
    columns: Sequence[str],
    *,
    extra: Mapping[str, str] | None = None,
    returning: str | None = None,
) -> str:
    """`name AS (INSERT INTO table (columns) SELECT columns FROM <the JSON array :name>)`: many
    rows of a table as one bound JSON document, typed by the table's own row type. `extra`
    adds columns computed in SQL (column -> expression). Rows go in in the array's order."""
    extra = extra or {}
    quoted = [f'"{column}"' for column in columns]
    into = ", ".join([*quoted, *(f'"{column}"' for column in extra)])
    values = ", ".join([*(f"r.{q}" for q in quoted), *extra.values()])
    return (
        f"{name} AS (INSERT INTO {table} ({into}) SELECT {values} "
        f"FROM jsonb_populate_recordset(NULL::{table}, CAST(:{name} AS jsonb)) AS r"
        f"{f' RETURNING {returning}' if returning else ''})"
    )


def rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return msgspec.json.encode(rows).decode()


async def insert_rows(session: AsyncSession, rows: Mapping[Any, Sequence[Mapping[str, Any]]]) -> None:
    """Rows of several tables (model -> rows, each row with the same keys) in one statement:
    one round trip, and a statement text that depends only on the columns, so the server's
    prepared statement and SQLAlchemy's compiled form are reused (an ORM flush or a
    multi-row VALUES costs a statement per table and builds it anew every time)."""
    parts: list[str] = []
    params: dict[str, str] = {}
    for n, (model, table_rows) in enumerate(rows.items()):
        if table_rows:
            parts.append(rows_cte(f"t{n}", model.__table__.name, list(table_rows[0])))
            params[f"t{n}"] = rows_json(table_rows)
    if parts:
        await session.execute(text(f"WITH {', '.join(parts)} SELECT 1"), params)


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once this session's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(hook)


async def run_after_commit_hooks(session: AsyncSession) -> None:
    hooks: list[AfterCommit] = session.info.pop("after_commit", [])
    for hook in hooks:
        try:
            result = hook()
            if result is not None:
                await result
        except Exception:  # a nudge that fails must not turn a committed request into an error
            log.warning("after-commit hook failed", exc_info=True)


@asynccontextmanager
async def autocommit(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session without a transaction: every statement commits on its own. For reads that need
    no common snapshot, and single-statement writes: it saves the BEGIN and COMMIT round trips.
    Never for work that must be all or nothing."""
    async with maker() as session:
        if isinstance(session.bind, AsyncEngine):
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
        # Costs nothing in autocommit; a session bound to a connection (tests) commits here.
        await session.commit()


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session, one transaction, one commit; after-commit hooks run after it."""
    async with maker() as session:
        async with session.begin():
            yield session
        await run_after_commit_hooks(session)
