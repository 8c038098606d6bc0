"""Read replicas: the reads that may be a little stale go to a streaming standby.

A route declares it reads through `opt=roles(...) | REPLICA_READ`; its `db_session` is then a
read-only transaction on a replica (app.core.deps). Availability, catalog, customer and order
reads, quotes and reports do; everything that decides stock or money (placement, holds,
payments, stock moves, `oms check`) and every write stays on the primary.

A replica is used only while it is reachable and its replay lag is at most
`OMS_REPLICA_MAX_LAG_SECONDS`; otherwise the read goes to the primary (never an error). The
lag is measured at most once a second per process (`CHECK_EVERY_SECONDS`), so a read may be
up to max lag + 1 s behind the primary (README, "Read replicas").
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core.db import create_sessionmaker
from app.core.settings import Settings, to_asyncpg_url

log = logging.getLogger("oms.replicas")

REPLICA_READ: dict[str, Any] = {"reads": "replica"}
CHECK_EVERY_SECONDS = 1.0

# Seconds the standby's replayed state is behind the primary. A standby that has replayed all
# the WAL it received while streaming is not behind, however long ago the last commit was (an
# idle primary writes nothing); one that stopped replaying, or stopped receiving, is as far
# behind as the age of the last transaction it replayed. A server not in recovery (a promoted
# standby) is never behind.
LAG_SQL = text(
    """
    SELECT CASE
      WHEN NOT pg_is_in_recovery() THEN 0.0
      WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
           AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0.0
      ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, 'Infinity')
    END
    """
)


@dataclass
class Replica:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    usable: bool = False
    lag_seconds: float | None = None
    checked_at: float = field(default=-1e9)

    async def check(self, max_lag_seconds: float) -> None:
        self.checked_at = time.monotonic()  # before the await: concurrent reads do not check too
        try:
            async with self.engine.connect() as connection:
                lag = float((await connection.execute(LAG_SQL)).scalar_one())
        except Exception as error:
            self.mark_down(error)
            return
        was_usable = self.usable
        self.lag_seconds = lag
        self.usable = lag <= max_lag_seconds
        if was_usable and not self.usable:
            log.warning("replica lags %.1f s (bound %.1f s): reads go to the primary", lag, max_lag_seconds)

    def mark_down(self, error: BaseException) -> None:
        if self.usable:
            log.warning("replica unreachable, reads go to the primary: %s", type(error).__name__)
        self.usable = False
        self.lag_seconds = None
        self.checked_at = time.monotonic()


class Replicas:
    """The replicas of one process, taken in turn; `pick()` answers a usable one or None."""

    def __init__(self, replicas: list[Replica], max_lag_seconds: float) -> None:
        self.replicas = replicas
        self.max_lag_seconds = max_lag_seconds
        self._turn = itertools.cycle(range(len(replicas))) if replicas else None

    async def pick(self) -> Replica | None:
        if self._turn is None:
            return None
        for _ in self.replicas:
            replica = self.replicas[next(self._turn)]
            if time.monotonic() - replica.checked_at >= CHECK_EVERY_SECONDS:
                await replica.check(self.max_lag_seconds)
            if replica.usable:
                return replica
        return None

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()


def create_replicas(settings: Settings) -> Replicas:
    return Replicas(
        [_replica(settings, url) for url in settings.database_replica_urls],
        settings.replica_max_lag_seconds,
    )


def _replica(settings: Settings, url: str) -> Replica:
    # Every checkout is pinged (unlike the primary's pool): a replica that went away is then
    # found before the handler's first statement, and the read falls back to the primary
    # instead of failing. The pings cost the replica, not the primary.
    engine = create_async_engine(
        to_asyncpg_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "plan_cache_mode": settings.db_plan_cache_mode,
                "default_transaction_read_only": "on",
                "application_name": "oms-read",
                "timezone": "UTC",
            },
            "timeout": 2,
        },
    )
    return Replica(engine=engine, sessionmaker=create_sessionmaker(engine))
