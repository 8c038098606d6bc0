"""The history's monthly partitions: the migration keeps the rows, inserts land in their
month, a month-range query reads one partition, and new months are created ahead."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import psycopg
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from app.core import clock, idempotency, outbox, partitions
from app.core.db import create_engine, create_sessionmaker
from app.core.settings import get_settings
from app.inventory.models import StockMovement
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive
from tests.support import alembic_config, drop_database, recreate_database

_BASE = os.environ["DATABASE_URL"]


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    params = {"host": u.host or u.query.get("host"), "port": u.port, "user": u.username, "dbname": u.database}
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True)


async def _seed_catalog(url: str) -> tuple[str, str]:
    """A SKU and a store in the database at `url` (its schema just before 0070: these tables are the same)."""
    from dataclasses import replace

    engine = create_engine(replace(get_settings(), database_url=url))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            (sku,) = await make_variants(session, 1)
            (code,) = await make_locations(session, LocationFactory(code="ST-MIG"))
    finally:
        await engine.dispose()
    return sku, code


def _rows(conn: psycopg.Connection[tuple[object, ...]], table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def test_upgrade_keeps_existing_rows_and_downgrade_keeps_them_too() -> None:
    name = f"oms_history_{os.getpid()}"
    url = recreate_database(_BASE, name)
    try:
        cfg = alembic_config(url)
        # the revision before 0070, whatever the chain is when this runs
        previous = str(ScriptDirectory.from_config(cfg).get_revision("0070").down_revision)
        command.upgrade(cfg, previous)
        sku, store = asyncio.run(_seed_catalog(url))
        with _connect(url) as conn:
            # 90 days of history: three or four months
            conn.execute(
                "INSERT INTO stock_movements (sku, location_code, delta, on_hand_after, reason, effective_at,"
                " recorded_at) SELECT %s, %s, 1, g, 'receipt', now() - g * interval '1 day',"
                " now() - g * interval '1 day' FROM generate_series(1, 90) g",
                (sku, store),
            )
            conn.execute(
                "INSERT INTO outbox_events (event_id, type, schema_version, aggregate_type, aggregate_id, payload,"
                " occurred_at, published_at) SELECT gen_random_uuid(), 'stock.changed', 1, 'stock', 'x', '{}',"
                " now() - g * interval '1 day', now() FROM generate_series(1, 90) g"
            )
            before = {t: _rows(conn, t) for t in ("stock_movements", "outbox_events")}
        command.upgrade(cfg, "head")
        with _connect(url) as conn:
            assert {t: _rows(conn, t) for t in before} == before
            kinds = dict(
                conn.execute(
                    "SELECT relname, relkind::text FROM pg_class WHERE relname IN ('stock_movements', 'outbox_events')"
                ).fetchall()
            )
            assert kinds == {"stock_movements": "p", "outbox_events": "p"}
            months = conn.execute("SELECT DISTINCT tableoid::regclass::text FROM stock_movements ORDER BY 1").fetchall()
            assert len(months) >= 3 and all("_p20" in m[0] for m in months)  # none in the default partition
            # the ids go on from the old sequence
            new_id = conn.execute(
                "INSERT INTO stock_movements (sku, location_code, delta, on_hand_after, reason, effective_at,"
                " recorded_at) VALUES (%s, %s, 1, 91, 'opening_balance', now(), now()) RETURNING id",
                (sku, store),
            ).fetchone()
            assert new_id is not None and new_id[0] == 91
        command.downgrade(cfg, previous)
        with _connect(url) as conn:
            assert conn.execute("SELECT relkind::text FROM pg_class WHERE relname = 'stock_movements'").fetchone() == (
                "r",
            )
            assert _rows(conn, "outbox_events") == before["outbox_events"]
            ledger = _rows(conn, "stock_movements")
            assert ledger[:90] == before["stock_movements"]
            assert ledger[90][5] == "correction"  # the opening balance, in words the schema before knows
    finally:
        drop_database(_BASE, name)


async def test_inserts_land_in_their_month_and_a_month_created_late_takes_its_rows(db: AsyncSession) -> None:
    now = clock.now()
    await outbox.record(db, "test.happened", aggregate_type="test", aggregate_id="1", payload={})
    where = await db.scalar(text("SELECT tableoid::regclass::text FROM outbox_events"))
    assert where == partitions.Partition("outbox_events", partitions.month_start(now)).name
    # a month nobody created yet: the default partition takes the row ...
    far = datetime(2061, 5, 17, 12, tzinfo=UTC)
    clock.freeze(far)
    await outbox.record(db, "test.happened", aggregate_type="test", aggregate_id="2", payload={})
    assert await db.scalar(text("SELECT count(*) FROM outbox_events_default")) == 1
    # ... and hands it to the month's partition when it is created
    created = await partitions.ensure_partitions(db, far, months_ahead=0)
    assert created == ["stock_movements_p2061_05", "outbox_events_p2061_05"]
    assert await db.scalar(text("SELECT count(*) FROM outbox_events_default")) == 0
    assert await db.scalar(text("SELECT aggregate_id FROM outbox_events_p2061_05")) == "2"
    assert await partitions.ensure_partitions(db, far, months_ahead=0) == []  # idempotent


async def test_ensure_partitions_creates_this_month_and_the_next_ones(db: AsyncSession) -> None:
    start = datetime(2059, 11, 3, tzinfo=UTC)
    created = await partitions.ensure_partitions(db, start, months_ahead=3)
    assert [n for n in created if n.startswith("stock")] == [
        "stock_movements_p2059_11",
        "stock_movements_p2059_12",
        "stock_movements_p2060_01",
        "stock_movements_p2060_02",
    ]
    # the indexes of the table come with each new month
    indexes = await db.scalar(text("SELECT count(*) FROM pg_indexes WHERE tablename = 'stock_movements_p2060_01'"))
    assert indexes == 4


async def test_a_month_range_query_reads_only_that_months_partition(db: AsyncSession) -> None:
    (sku,) = await make_variants(db, 1)
    await make_locations(db, LocationFactory(code="ST-EXPLAIN"))
    await receive(db, sku, "ST-EXPLAIN", 3)
    month = partitions.month_start(clock.now())
    plan = "\n".join(
        row[0]
        for row in await db.execute(
            text("EXPLAIN SELECT sum(delta) FROM stock_movements WHERE recorded_at >= :a AND recorded_at < :b"),
            {"a": month, "b": partitions.add_months(month, 1)},
        )
    )
    this = partitions.Partition(StockMovement.__tablename__, month).name
    assert this in plan
    assert "stock_movements_default" not in plan
    assert plan.count("stock_movements_p") == 1, plan


async def test_stock_as_of_skips_the_months_before_it(db: AsyncSession) -> None:
    """on_hand_at names recorded_at as well as effective_at: months before `at` are pruned."""
    month = partitions.month_start(clock.now())
    await partitions.ensure_partitions(db, partitions.add_months(month, -1), months_ahead=0)
    plan = "\n".join(
        row[0]
        for row in await db.execute(
            text(
                "EXPLAIN SELECT sum(delta) FROM stock_movements WHERE sku = 'X' AND location_code = 'Y'"
                " AND effective_at > :at AND recorded_at > :at"
            ),
            {"at": month + timedelta(days=1)},
        )
    )
    earlier = partitions.Partition("stock_movements", partitions.add_months(month, -1)).name
    assert partitions.Partition("stock_movements", month).name in plan
    assert earlier not in plan


async def test_idempotency_records_expire_after_their_ttl(db: AsyncSession) -> None:
    """Not partitioned: records older than the TTL are deleted in batches, the rest kept."""
    await db.execute(
        text(
            "INSERT INTO idempotency_records (api_key_id, key, method, path, request_hash, created_at)"
            " SELECT gen_random_uuid(), 'k' || g, 'POST', '/v1/orders', '\\x00', now() - g * interval '1 day'"
            " FROM generate_series(1, 40) g"
        )
    )
    before = clock.now() - timedelta(days=30)
    assert await idempotency.expire(db, before, batch=4) == 4
    while await idempotency.expire(db, before, batch=4):
        pass
    assert await db.scalar(text("SELECT count(*) FROM idempotency_records")) == 29  # 1..29 days old


async def test_oms_migrate_creates_the_coming_months(committed: async_sessionmaker[AsyncSession]) -> None:
    """`oms migrate` (and `oms serve`, which migrates first) creates the months ahead itself."""
    ahead = partitions.Partition("outbox_events", partitions.add_months(partitions.month_start(clock.now()), 3))
    async with committed() as session, session.begin():
        await session.execute(text(f"DROP TABLE {ahead.name}"))
    result = await asyncio.to_thread(CliRunner().invoke, main, ["migrate"])
    assert result.exit_code == 0, result.output
    async with committed() as session:
        assert await session.scalar(text(f"SELECT to_regclass('{ahead.name}')::text")) == ahead.name
