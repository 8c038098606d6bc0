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


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    params = {"host": u.host or u.query.get("host"), "port": u.port, "user": u.username, "dbname": u.database}
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True)


def _stored(url: str, column: str) -> list[tuple[object, ...]]:
    with _connect(url) as conn:
        return conn.execute(
            f"SELECT o.status, o.{column}, t.from_status, t.to_status"
            " FROM orders o JOIN order_timeline t ON t.order_id = o.id"
        ).fetchall()


def test_the_one_spelling_migration_rewrites_stored_statuses_both_ways() -> None:
    name = f"oms_migrations_spelling_{os.getpid()}"
    url = recreate_database(_BASE, name)
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0014-1")
        with _connect(url) as conn:
            conn.execute(
                "INSERT INTO orders (id, number, status, channel, api_key_id, fulfilment, pickup_location_code,"
                " currency, subtotal, discount_total, total, pricing, reservation_ref, payment_key, placed_at,"
                " updated_at) VALUES (gen_random_uuid(), 'ORD-1', 'released_to_fulfilment', 'web',"
                " gen_random_uuid(), 'pickup', 'STORE-1', 'EUR', 100, 0, 100, '{}', 'order:1', 'k', now(), now())"
            )
            conn.execute(
                "INSERT INTO order_timeline (order_id, kind, from_status, to_status, at)"
                " SELECT id, 'released', 'placed', 'released_to_fulfilment', now() FROM orders"
            )
        command.upgrade(cfg, "0014")
        assert _stored(url, "fulfillment") == [
            ("released_to_fulfillment", "pickup", "placed", "released_to_fulfillment")
        ]
        command.downgrade(cfg, "0014-1")
        assert _stored(url, "fulfilment") == [("released_to_fulfilment", "pickup", "placed", "released_to_fulfilment")]
    finally:
        drop_database(_BASE, name)
