"""Fulfillment at scale: the sourcing decision for a 5-line order over 500 locations, and
the next pick list at a location with 2,000 open fulfillment orders.

Builds a scratch database (`oms_bench_fulfillment`) on the server of DATABASE_URL, migrates
it, seeds 5 SKUs at 500 locations (50 warehouses, 450 stores of which a third ship; stock
with ledger rows) and 2,000 open fulfillment orders at one warehouse (40 SKUs with bins),
then times, through the service, each in a transaction rolled back afterwards (so every
run sees the same data):
  1. the pure planner (`rules.plan_delivery`) on the 500 candidates,
  2. the sourcing read + plan (`candidates` + `make_plan`: 3 queries, then the planner),
  3. `plan_and_reserve` (plan, reserve 5 lines, write the decision and fulfillment orders),
  4. `next_pick_list` (claim 20 orders out of 2,000 with SKIP LOCKED, aggregate, bin sort).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python ops/bench/fulfillment_sourcing.py --runs 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = "oms_bench_fulfillment"
SKUS = [f"BENCH-{i:02d}" for i in range(5)]
PICK_SKUS = [f"PICK-{i:03d}" for i in range(40)]
WAREHOUSE = "WH-000"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def seed(maker, locations: int, open_orders: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    async with maker() as s, s.begin():
        await s.execute(
            text("INSERT INTO products (id, code, name, description) VALUES (gen_random_uuid(), 'P', 'P', '')")
        )
        await s.execute(
            text("INSERT INTO variants (sku, product_id) SELECT unnest(CAST(:skus AS text[])), id FROM products"),
            {"skus": SKUS + PICK_SKUS},
        )
        await s.execute(
            text(
                """
            INSERT INTO locations (code, name, kind, address, latitude, longitude, time_zone, ships, pickup,
                                   accepts_returns, daily_capacity, default_safety_stock, active)
            SELECT CASE WHEN i < 50 THEN 'WH-' ELSE 'ST-' END || lpad(i::text, 3, '0'), 'L' || i,
                   CASE WHEN i < 50 THEN 'warehouse' ELSE 'store' END, '',
                   43 + (i * 7919 % 700) / 100.0, -1 + (i * 104729 % 900) / 100.0, 'Europe/Paris',
                   i < 50 OR i % 3 = 0, i >= 50, i >= 50, CASE WHEN i < 50 THEN 5000 ELSE 50 END,
                   CASE WHEN i < 50 THEN 0 ELSE 1 END, true
            FROM generate_series(0, :n - 1) AS i
            """
            ),
            {"n": locations},
        )
        # Stock: each SKU at ~60 % of the locations, a few units each; the ledger explains it.
        await s.execute(
            text(
                """
            WITH x AS (
                SELECT v.sku, l.code, 1 + (abs(hashtext(v.sku || l.code)) % 9) AS qty
                FROM variants v CROSS JOIN locations l
                WHERE abs(hashtext(l.code || v.sku)) % 10 < 6 OR v.sku LIKE 'PICK-%' AND l.code = :wh
            ), ins AS (
                INSERT INTO stock_levels (sku, location_code, on_hand, reserved, in_transit, updated_at)
                SELECT sku, code, CASE WHEN sku LIKE 'PICK-%' THEN 100000 ELSE qty END, 0, 0, now() FROM x
                RETURNING sku, location_code, on_hand
            )
            INSERT INTO stock_movements (sku, location_code, delta, on_hand_after, reason, reference, effective_at,
                                         recorded_at)
            SELECT sku, location_code, on_hand, on_hand, 'receipt', 'bench', now(), now() FROM ins
            """
            ),
            {"wh": WAREHOUSE},
        )
        await s.execute(
            text(
                "INSERT INTO bins (location_code, sku, bin_code, updated_at) "
                "SELECT :wh, sku, chr(65 + (row_number() OVER (ORDER BY sku))::int % 6) || '-' || "
                "(row_number() OVER (ORDER BY sku))::text, now() FROM variants WHERE sku LIKE 'PICK-%'"
            ),
            {"wh": WAREHOUSE},
        )
        # 2,000 open fulfillment orders at one warehouse, 1-3 lines each (no reservation: the
        # pick-list path does not touch stock).
        await s.execute(
            text(
                """
            WITH fo AS (
                INSERT INTO fulfillment_orders (id, number, order_id, order_number, location_code, type, status,
                    units, promised_at, code_attempts, created_at, updated_at)
                SELECT gen_random_uuid(), 'B' || i || '-1', gen_random_uuid(), 'B' || i, :wh, 'delivery', 'created',
                       1 + i % 3, now() + (i % 97) * interval '1 hour', 0, now() - i * interval '1 minute', now()
                FROM generate_series(1, :n) AS i
                RETURNING id, units
            )
            INSERT INTO fulfillment_order_lines (fulfillment_order_id, line_id, sku, quantity, holds,
                                                 picked_quantity, short_quantity)
            SELECT fo.id, g::text, 'PICK-' || lpad((abs(hashtext(fo.id::text || g)) % 40)::text, 3, '0'), 1, '[]', 0, 0
            FROM fo, generate_series(1, fo.units) AS g
            """
            ),
            {"wh": WAREHOUSE, "n": open_orders},
        )


async def timed(maker, runs: int, work: Callable[..., Awaitable[object]]) -> list[float]:  # type: ignore[no-untyped-def]
    times: list[float] = []
    for _ in range(runs):
        async with maker() as s:
            await s.begin()
            t0 = time.perf_counter()
            await work(s)
            times.append((time.perf_counter() - t0) * 1000)
            await s.rollback()
    return times


async def main(runs: int, locations: int, open_orders: int) -> None:
    from app.core.auth import Principal, Role
    from app.core.db import create_engine, create_sessionmaker
    from app.core.settings import reload_settings
    from app.fulfillment import rules, service
    from app.fulfillment.usecases.sourcing import OrderToSource, candidates, make_plan

    settings = reload_settings()
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    t0 = time.perf_counter()
    await seed(maker, locations, open_orders)
    print(f"seed: {locations} locations, {open_orders} open fulfillment orders in {time.perf_counter() - t0:.1f} s")

    lines = [(str(i + 1), sku, 1) for i, sku in enumerate(SKUS)]

    def order() -> OrderToSource:
        oid = uuid.uuid4()
        return OrderToSource(
            order_id=oid,
            order_number="BENCH",
            reservation_ref=f"order:{oid}",
            fulfillment="delivery",
            lines=lines,
            latitude=48.85,
            longitude=2.35,
        )

    async with maker() as s:
        pool = await candidates(s, SKUS)
    current = rules.SourcingRules()
    plan_lines = [rules.PlanLine(i, sku, q) for i, sku, q in lines]
    pure: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        plan = rules.plan_delivery(plan_lines, pool, current, destination=rules.Point(48.85, 2.35))
        pure.append((time.perf_counter() - t) * 1000)
    print(f"plan: {plan.summary}")

    async def read_and_plan(s) -> None:  # type: ignore[no-untyped-def]
        make_plan(order(), await candidates(s, SKUS), current)

    async def place(s) -> None:  # type: ignore[no-untyped-def]
        await service.plan_and_reserve(s, order(), actor=None)

    principal = Principal(key_id=uuid.uuid4(), role=Role.LOGISTICS, location_code=WAREHOUSE)

    async def pick(s) -> None:  # type: ignore[no-untyped-def]
        pl = await service.next_pick_list(s, principal, WAREHOUSE)
        assert len(pl.fulfillment_order_ids) == 20

    for name, values in (
        ("pure planner (500 candidates, 5 lines)", pure),
        ("sourcing read + plan (3 queries + planner)", await timed(maker, runs, read_and_plan)),
        ("plan_and_reserve (plan, reserve 5 lines, write decision + FO)", await timed(maker, runs, place)),
        (f"next pick list (20 of {open_orders} open FOs)", await timed(maker, runs, pick)),
    ):
        print(
            f"| {name} | p50 {statistics.median(values):.2f} ms | p95 {percentile(values, 0.95):.2f} ms "
            f"| max {max(values):.2f} ms |"
        )
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--open-orders", type=int, default=2000)
    args = parser.parse_args()
    base = os.environ["DATABASE_URL"]
    url = recreate_database(base, DB_NAME)
    try:
        command.upgrade(alembic_config(url), "head")
        os.environ["DATABASE_URL"] = url
        asyncio.run(main(args.runs, args.locations, args.open_orders))
    finally:
        drop_database(base, DB_NAME)
