"""Migrations are part of what is tested: empty -> head -> base -> head on a fresh database."""

from __future__ import annotations

import os

import psycopg
from alembic import command

from tests.support import alembic_config, drop_database, recreate_database

_BASE = os.environ["DATABASE_URL"]


def _tables(url: str) -> set[str]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    params = {"host": u.host or u.query.get("host"), "port": u.port, "user": u.username, "dbname": u.database}
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows} - {"alembic_version"}


def test_upgrade_downgrade_upgrade() -> None:
    name = f"oms_migrations_{os.getpid()}"
    url = recreate_database(_BASE, name)
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "head")
        at_head = _tables(url)
        assert {"api_keys", "outbox_events", "idempotency_records", "products", "variants"} <= at_head
        command.downgrade(cfg, "base")
        assert _tables(url) == set()
        command.upgrade(cfg, "head")
        assert _tables(url) == at_head
    finally:
        drop_database(_BASE, name)
