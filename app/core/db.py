"""Engine, sessions and the declarative base.

The request (or job) owns the transaction: `transaction()` opens one session in one
transaction, commits once at the end, and runs the after-commit hooks (job enqueues,
outbox relay nudges) only once the commit is durable. Services never commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, MetaData
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


def create_engine(settings: Settings) -> AsyncEngine:
    # A bounded pool: overload waits db_pool_timeout seconds for a connection, then
    # becomes a 503 with Retry-After instead of exhausting PostgreSQL's connections.
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
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


def create_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


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
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session, one transaction, one commit; after-commit hooks run after it."""
    async with maker() as session:
        async with session.begin():
            yield session
        await run_after_commit_hooks(session)
