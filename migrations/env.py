"""Alembic environment: migrations run on the async engine named by DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.settings import reload_settings
from app.models import metadata

target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        # Every API replica migrates at start: one at a time, the others then find head.
        connection.execute(text("SELECT pg_advisory_xact_lock(7270001)"))
        context.run_migrations()


async def _run_async() -> None:
    url = context.config.attributes.get("url") or reload_settings().async_database_url
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `oms migrate`")
run_migrations_online()
