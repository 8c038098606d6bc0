"""History that grows: order placement and `oms check` with a year of history (10,000,000 stock
ledger rows, 1,000,000 orders, 1,000,000 relayed events) against the same database with none.

Builds `oms_bench_history` seeded like ops/bench/orders_place.py (50 priced SKUs, deep stock at WH-1
and WH-2, a storefront key), then:
1. small: times `oms check` (--checks runs, the median), runs the placement load (`oms serve`,
   --clients keep-alive clients for --seconds), prints orders/s;
2. seeds the history with set-based SQL (generate_series): --ledger-rows ledger rows over the
   12 months before this one (monthly partitions created for them first, as
   `history.partitions` would have), in +1/-1 pairs per (SKU, location) so on_hand still equals
   the ledger's sum and `oms check` stays clean; --orders completed orders and as many
   published outbox events spread over the same months; then ANALYZE;
3. large: on a fresh database seeded the same way plus that history (so the clients'
   Idempotency-Keys are new), the same `oms check` and placement load, and both as a fraction
   of small.
Asserts nothing: figures go to ops/bench/RESULTS.md.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python ops/bench/history_scale.py --clients 32 --seconds 30 --workers 2

Smaller: `--ledger-rows 1000000 --orders 100000`. --keep-db keeps the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "ops" / "bench"))

import asyncpg  # noqa: E402
import orders_place  # noqa: E402
from alembic import command  # noqa: E402

from app.core import partitions  # noqa: E402
from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

MONTHS = 12
# Its own database: other benches (orders_place.py) use oms_bench_orders, maybe at the same time.
DB_NAME = "oms_bench_history"


def oms_check(url: str, runs: int) -> float:
    """Median wall time of `oms check` (a process each run, as an operator runs it)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "check"],
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            print(f"oms check failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    return statistics.median(times)


async def check_queries(url: str, runs: int) -> float:
    """Median time of the statements of `oms check` in one process (no interpreter start-up):
    the stock checks and the orders-without-stock check, as the command runs them."""
    from dataclasses import replace

    from sqlalchemy import text

    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import get_settings
    from app.flows.integrity import orders_without_stock
    from app.inventory.service import check_integrity

    engine = create_engine(replace(get_settings(), database_url=url))
    times = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            async with transaction(create_sessionmaker(engine)) as session:
                await session.execute(text("SET LOCAL statement_timeout = 0"))  # as `oms check` does
                findings = await check_integrity(session, limit=1000)
                orders = await orders_without_stock(session, limit=1000)
            times.append(time.perf_counter() - started)
            if findings or orders:
                print(f"check found {len(findings)} + {len(orders)} finding(s)")
    finally:
        await engine.dispose()
    return statistics.median(times)


def place(url: str, key: str, skus: list[str], clients: int, seconds: float, workers: int) -> float:
    port = orders_place.free_port()
    server = orders_place.start_server(url, port, workers)
    try:
        base_url = f"http://127.0.0.1:{port}"
        price = asyncio.run(orders_place.prices(base_url, key, skus))
        return asyncio.run(orders_place.load(base_url, key, price, clients, seconds, server.pid, url))
    finally:
        server.terminate()
        server.wait(timeout=30)


async def seed_history(url: str, ledger_rows: int, orders: int) -> None:
    conn = await asyncpg.connect(orders_place.asyncpg_dsn(url))
    try:
        this = partitions.month_start(await conn.fetchval("SELECT now()"))
        first = partitions.add_months(this, -MONTHS)
        for n in range(MONTHS):
            part = partitions.Partition("stock_movements", partitions.add_months(first, n))
            for table in partitions.PARTITIONED:
                name = partitions.Partition(table, part.month).name
                if await conn.fetchval("SELECT to_regclass($1)", name) is None:
                    await conn.execute(
                        f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ('{part.month.isoformat()}')"
                        f" TO ('{part.end.isoformat()}')"
                    )
        keys = await conn.fetch("SELECT sku, location_code FROM stock_levels ORDER BY 1, 2")
        # The rows below are valid by construction (existing SKUs, locations, keys): the seed
        # skips the foreign-key triggers, which would otherwise queue 20,000,000 checks.
        await conn.execute("SET session_replication_role = replica")
        seconds = (this - first).total_seconds()
        started = time.perf_counter()
        # Row g: key g % K, +1 when g / K is even, -1 when odd: each key's rows come in +1/-1
        # pairs (a whole number of 2K-row rounds), so every key's ledger sum is unchanged.
        await conn.execute(
            f"""
            INSERT INTO stock_movements
                (sku, location_code, delta, on_hand_after, reason, reference, effective_at, recorded_at)
            SELECT k.sku, k.location_code,
                   CASE WHEN (g / {len(keys)}) % 2 = 0 THEN 1 ELSE -1 END, 1,
                   CASE WHEN (g / {len(keys)}) % 2 = 0 THEN 'receipt' ELSE 'damage' END, 'bench-history',
                   $2::timestamptz + (g::float8 / $1) * $3 * interval '1 second',
                   $2::timestamptz + (g::float8 / $1) * $3 * interval '1 second'
            FROM generate_series(0, $1 - 1) g
            JOIN (SELECT sku, location_code, (row_number() OVER (ORDER BY sku, location_code) - 1)::int AS i
                  FROM stock_levels) k ON k.i = g % {len(keys)}
            """,
            ledger_rows - ledger_rows % (2 * len(keys)),
            first,
            seconds,
        )
        print(f"seeded {ledger_rows:,} ledger rows in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        key_id = await conn.fetchval("SELECT id FROM api_keys LIMIT 1")
        await conn.execute(
            """
            INSERT INTO orders (id, number, status, channel, api_key_id, fulfillment, delivery_address, currency,
                subtotal, discount_total, total, pricing, reservation_ref, payment_key, placed_at, updated_at)
            SELECT gen_random_uuid(), 'H-' || g, 'completed', 'web', $2, 'delivery',
                   '{"line1": "1 Bench Street", "city": "Munich", "postal_code": "80331", "country": "DE"}',
                   'EUR', 1000, 0, 1000, '{}', 'order:history-' || g, 'history-' || g,
                   $3::timestamptz + (g::float8 / $1) * $4 * interval '1 second',
                   $3::timestamptz + (g::float8 / $1) * $4 * interval '1 second'
            FROM generate_series(0, $1 - 1) g
            """,
            orders,
            key_id,
            first,
            seconds,
        )
        await conn.execute(
            """
            INSERT INTO outbox_events (event_id, type, schema_version, aggregate_type, aggregate_id, payload,
                occurred_at, published_at)
            SELECT gen_random_uuid(), 'order.placed', 1, 'order', 'H-' || g, '{}',
                   $2::timestamptz + (g::float8 / $1) * $3 * interval '1 second',
                   $2::timestamptz + (g::float8 / $1) * $3 * interval '1 second'
            FROM generate_series(0, $1 - 1) g
            """,
            orders,
            first,
            seconds,
        )
        print(f"seeded {orders:,} orders and {orders:,} events in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await conn.execute("ANALYZE")
        print(f"ANALYZE {time.perf_counter() - started:.1f} s")
        counts = await conn.fetch(
            "SELECT (SELECT count(*) FROM stock_movements) AS ledger, (SELECT count(*) FROM orders) AS orders,"
            " (SELECT count(*) FROM outbox_events) AS events,"
            " (SELECT count(*) FROM pg_inherits WHERE inhparent = 'stock_movements'::regclass) AS partitions"
        )
        print(f"rows: {dict(counts[0])}")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    parser.add_argument("--ledger-rows", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=3, help="`oms check` runs (median)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    url = recreate_database(base, DB_NAME)
    os.environ["DATABASE_URL"] = url
    try:
        command.upgrade(alembic_config(url), "head")
        skus, key = asyncio.run(orders_place.seed())
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        small_check = oms_check(url, args.checks)
        small_sql = asyncio.run(check_queries(url, args.checks))
        print(f"small: oms check {small_check * 1000:.0f} ms (its statements {small_sql * 1000:.0f} ms)")
        small = place(url, key, skus, args.clients, args.seconds, args.workers)
        # A fresh database for the large run: the clients' Idempotency-Keys (bench-<client>-<n>)
        # would otherwise replay, or refuse with 422, the small run's orders.
        url = recreate_database(base, DB_NAME)
        os.environ["DATABASE_URL"] = url
        command.upgrade(alembic_config(url), "head")
        skus, key = asyncio.run(orders_place.seed())
        asyncio.run(seed_history(url, args.ledger_rows, args.orders))
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        large_check = oms_check(url, args.checks)
        large_sql = asyncio.run(check_queries(url, args.checks))
        print(f"large: oms check {large_check * 1000:.0f} ms (its statements {large_sql * 1000:.0f} ms)")
        large = place(url, key, skus, args.clients, args.seconds, args.workers)
        print(
            f"placement: small {small:.1f} orders/s, large {large:.1f} orders/s = {100 * large / small:.0f} % of small"
        )
        print(
            f"oms check: small {small_check:.2f} s, large {large_check:.2f} s"
            f" (small / large = {100 * small_check / large_check:.0f} %);"
            f" its statements: small {small_sql * 1000:.0f} ms, large {large_sql * 1000:.0f} ms"
        )
    finally:
        if args.keep_db:
            print(f"kept {DB_NAME}")
        else:
            drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
