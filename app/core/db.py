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
from typing import Any, NamedTuple

import msgspec
from asyncpg import exceptions as pg_errors  # type: ignore[import-untyped]
from sqlalchemy import BigInteger, Connection, DateTime, MetaData, event, exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from app.core.settings import Settings

log = logging.getLogger("oms.db")

# session.info key: the session runs without a transaction (`autocommit()`).
AUTOCOMMIT = "autocommit"

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
                # Every statement here is an indexed look-up or write whose best plan does not
                # depend on the values: plan a prepared statement once per connection. With
                # PostgreSQL's default (`auto`) the placement's statements were planned anew at
                # every execution, and planning against the statistics of a 1M-row stock table
                # cost more than running them (ops/bench/RESULTS.md, orders, large catalog).
                "plan_cache_mode": settings.db_plan_cache_mode,
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


def rows_insert(
    table: str,
    columns: Sequence[str],
    param: str,
    *,
    extra: Mapping[str, str] | None = None,
    on_conflict: str | None = None,
    returning: str | None = None,
) -> str:
    """`INSERT INTO table (columns) SELECT columns FROM <the JSON array in param>`: many rows
    of a table as one bound JSON document, typed by the table's own row type. `extra` adds
    columns computed in SQL (column -> expression). Rows go in in the array's order."""
    extra = extra or {}
    quoted = [f'"{column}"' for column in columns]
    into = ", ".join([*quoted, *(f'"{column}"' for column in extra)])
    values = ", ".join([*(f"r.{q}" for q in quoted), *extra.values()])
    return (
        f"INSERT INTO {table} ({into}) SELECT {values} "
        f"FROM jsonb_populate_recordset(NULL::{table}, CAST({param} AS jsonb)) AS r"
        f"{f' ON CONFLICT {on_conflict}' if on_conflict else ''}"
        f"{f' RETURNING {returning}' if returning else ''}"
    )


def rows_cte(
    name: str,
    table: str,
    columns: Sequence[str],
    *,
    extra: Mapping[str, str] | None = None,
    returning: str | None = None,
    param: str | None = None,
) -> str:
    """`name AS (<rows_insert>)` with the rows in the parameter `:name` (or `param`, e.g. `$1`
    for a driver statement)."""
    insert = rows_insert(table, columns, param or f":{name}", extra=extra, returning=returning)
    return f"{name} AS ({insert})"


def rows_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return msgspec.json.encode(rows).decode()


async def insert_rows(session: AsyncSession, rows: Mapping[Any, Sequence[Mapping[str, Any]]]) -> None:
    """Rows of several tables (model -> rows, each row with the same keys) in one statement:
    one round trip, and a statement text that depends only on the columns, so the server's
    prepared statement is reused (an ORM flush or a multi-row VALUES costs a statement per
    table and builds it anew every time). Runs on the driver (see `fetch` below)."""
    parts: list[str] = []
    params: list[str] = []
    for model, table_rows in rows.items():
        if table_rows:
            params.append(rows_json(table_rows))
            parts.append(
                rows_cte(f"t{len(params)}", model.__table__.name, list(table_rows[0]), param=f"${len(params)}")
            )
    if parts:
        await execute(session, f"WITH {', '.join(parts)} SELECT 1", *params)


# ---- hot-path statements on the driver -------------------------------------------------------
#
# SQLAlchemy's `session.execute` costs 0.3–1 ms of CPU per statement (cache keys, parameter
# processing, result and ORM rows) — on the order placement's ~15 statements that was a third
# of the API's CPU. The few statements on the hottest paths run instead as plain SQL on the
# asyncpg connection under the session, inside the session's own transaction (~0.1 ms each;
# asyncpg prepares a statement once per connection). Repositories still own every statement;
# parameters are positional ($1, $2 …); jsonb parameters are JSON text (`rows_json`) and jsonb
# results arrive decoded. Errors surface as SQLAlchemy's, so the edge maps them as before.
#
# This is the only module that touches the driver, and through public APIs only: the asyncpg
# connection is `AsyncConnection.get_raw_connection().driver_connection`. SQLAlchemy's asyncpg
# adapter begins a transaction lazily, at its first statement, and commits only one it began:
# so a transaction's first driver statement goes through the connection's DBAPI cursor (PEP
# 249, as SQLAlchemy's own statements do), the next ones straight to asyncpg. asyncpg's errors
# become the DBAPI module's exception classes (`dialect.loaded_dbapi`), by the same mapping as
# the adapter's, then SQLAlchemy's (`exc.DBAPIError.instance`).

_DBAPI_ERROR_OF: dict[type[BaseException], str] = {
    pg_errors.UniqueViolationError: "UniqueViolationError",
    pg_errors.ForeignKeyViolationError: "ForeignKeyViolationError",
    pg_errors.NotNullViolationError: "NotNullViolationError",
    pg_errors.CheckViolationError: "CheckViolationError",
    pg_errors.ExclusionViolationError: "ExclusionViolationError",
    pg_errors.RestrictViolationError: "RestrictViolationError",
    pg_errors.IntegrityConstraintViolationError: "IntegrityError",
    pg_errors.InvalidCachedStatementError: "InvalidCachedStatementError",
    pg_errors.SyntaxOrAccessError: "ProgrammingError",
    pg_errors.InternalServerError: "InternalServerError",
    pg_errors.PostgresError: "Error",
    pg_errors.InterfaceError: "InterfaceError",
    pg_errors.InternalClientError: "InternalClientError",
}


class _Driver(NamedTuple):
    transaction: Any  # the session's SessionTransaction these belong to
    connection: AsyncConnection
    dbapi: Any  # the DBAPI connection (SQLAlchemy's adapter of asyncpg's)
    asyncpg: Any  # asyncpg.Connection


async def _driver(session: AsyncSession) -> _Driver:
    """The session's connection and its asyncpg connection — looked up once per transaction:
    through SQLAlchemy it costs a third of a driver statement's CPU."""
    cached: _Driver | None = session.info.get("driver")
    if cached is not None and cached.transaction is session.sync_session.get_transaction():
        return cached
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    found = _Driver(session.sync_session.get_transaction(), connection, raw.dbapi_connection, raw.driver_connection)
    session.info["driver"] = found
    return found


async def _run(session: AsyncSession, method: str, sql: str, args: Sequence[Any]) -> Any:
    driver = await _driver(session)
    if not driver.asyncpg.is_in_transaction() and not session.info.get(AUTOCOMMIT):
        # SQLAlchemy begins lazily, at its first statement: this one is the transaction's first.
        return await _run_on_dbapi_cursor(driver, method, sql, args)
    try:
        return await getattr(driver.asyncpg, method)(sql, *args)
    except Exception as error:
        raise await _as_sqlalchemy_error(driver, error, sql, args) from error


async def _run_on_dbapi_cursor(driver: _Driver, method: str, sql: str, args: Sequence[Any]) -> Any:
    def run(sync_connection: Connection) -> Any:
        cursor = sync_connection.connection.cursor()
        try:
            if method == "executemany":
                cursor.executemany(sql, args[0])
                return None
            cursor.execute(sql, tuple(args))
            rows = cursor.fetchall() if cursor.description is not None else []
        finally:
            cursor.close()
        if method == "fetch":
            return list(rows)
        if method == "fetchrow":
            return rows[0] if rows else None
        if method == "fetchval":
            return rows[0][0] if rows else None
        return None

    try:
        return await driver.connection.run_sync(run)
    except Exception as error:
        raise await _as_sqlalchemy_error(driver, error, sql, args) from error


async def _as_sqlalchemy_error(driver: _Driver, error: Exception, sql: str, args: Sequence[Any]) -> Exception:
    """The error as SQLAlchemy would have raised it (IntegrityError, OperationalError…); a
    broken connection is invalidated so that the pool does not hand it out again."""
    connection = driver.connection
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    dbapi_error: Any = error if isinstance(error, dbapi.Error) else _as_dbapi_error(dbapi, error)
    if dbapi_error is None:
        return error
    disconnect = bool(dialect.is_disconnect(dbapi_error, driver.dbapi, None))
    if disconnect and not connection.invalidated:
        await connection.invalidate(dbapi_error)
    wrapped: Exception = exc.DBAPIError.instance(
        sql, list(args), dbapi_error, dbapi.Error, connection_invalidated=disconnect
    )
    return wrapped


def _as_dbapi_error(dbapi: Any, error: Exception) -> Exception | None:
    """asyncpg's error as the DBAPI's exception (its cause kept), None when it is no database
    error (a timeout, an OS error: raised as they are)."""
    for kind in type(error).__mro__:
        name = _DBAPI_ERROR_OF.get(kind)
        if name is not None:
            translated: Exception = getattr(dbapi, name)(error.args[0] if error.args else str(error), error)
            translated.__cause__ = error
            return translated
    return None


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """The rows (asyncpg Records: `row["column"]`, `row[0]`) of one statement."""
    rows: list[Any] = await _run(session, "fetch", sql, args)
    return rows


async def fetchrow(session: AsyncSession, sql: str, *args: Any) -> Any:
    """The first row of one statement, or None."""
    return await _run(session, "fetchrow", sql, args)


async def fetchval(session: AsyncSession, sql: str, *args: Any) -> Any:
    """The first column of the first row, or None."""
    return await _run(session, "fetchval", sql, args)


async def execute(session: AsyncSession, sql: str, *args: Any) -> None:
    """Run one statement."""
    await _run(session, "execute", sql, args)


async def executemany(session: AsyncSession, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement for each row of arguments, pipelined in one round trip."""
    await _run(session, "executemany", sql, (rows,))


async def without_statement_timeout(session: AsyncSession) -> None:
    """Lift OMS_DB_STATEMENT_TIMEOUT_MS for the rest of the session's transaction: for an
    operator's batch job over whole tables (`oms check`), never for a request."""
    await session.execute(text("SET LOCAL statement_timeout = 0"))


async def copy_out(session: AsyncSession, sql: str, write: Callable[[bytes], Awaitable[None]]) -> int:
    """COPY the rows of the query `sql` out as CSV with a header, in the session's transaction
    (its snapshot), handing each chunk to `write`; returns the row count. For archives."""
    await session.execute(text("SELECT 1"))  # the transaction has begun: COPY runs inside it
    driver = await _driver(session)
    status: str = await driver.asyncpg.copy_from_query(sql, output=write, format="csv", header=True)
    return int(status.split()[-1])


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
            session.info[AUTOCOMMIT] = True
        yield session
        # Costs nothing in autocommit; a session bound to a connection (tests) commits here.
        await session.commit()


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session, one transaction, one commit; the after-commit hooks after it."""
    async with maker() as session:
        async with session.begin():
            yield session
        await run_after_commit_hooks(session)
