"""The channel dashboard over a year of 1,000,000 orders: `GET /v1/reports/channels`.

Builds a scratch database (`oms_bench_reports`) on the server of DATABASE_URL, migrates it
(`alembic upgrade head`, so the report's indexes are the migrations' own), then seeds a
year of orders with SQL `generate_series` (no Python per row), in a realistic shape:

- 2 warehouses, 20 stores; 200,000 customers, each with a loyalty account;
- `--orders` orders over 2025 (uniform), channels web 40 % / app 25 % / kiosk 8 % /
  contact center 7 % / POS 20 %; 65 % for a known customer (loyalty member); 3 % cancelled;
  30 % of remote and kiosk orders are pickups, POS orders are collected at the store;
- 1 to 4 lines an order (2.5 on average, 1-2 units each); delivery lines from a warehouse
  (10 % of later lines from the other one: split shipments) or 20 % from a store
  (ship-from-store); pickup lines at the pickup store, 15 % of them sent there from a
  warehouse (ship-to-store, as placement records them: the line at the store, a
  ship-to-store fulfillment order with its lines at the warehouse); 30 % of kiosk delivery
  lines from a warehouse (endless aisle);
- one fulfillment order per (order, location) with `pack` and `ship` events for the
  shipped ones (5 % of ship-from-store ones rejected, 4 reasons), pickups collected or
  (7 %) expired with `ready_at`;
- 8 % of orders returned (half in the channel of sale, half at a store's POS), one line each;
- loyalty ledger: an `earn` row per member order, a `redeem` row for 5 % of them, each
  recorded when it occurred (a year of history).

Tenders, parcels, the outbox and the lines of other fulfillment orders than ship-to-store
ones are not seeded: the report does not read them.

Then fills the reports' summary the way `oms reports rebuild` does: every order's contribution
recorded (the same `rules.order_contributions` the `reports.refresh_order` consumer runs on
every event), in batches of `--batch` orders, one transaction each; then the summary tables
in bulk from them (one INSERT … SELECT … GROUP BY each); then a VACUUM (ANALYZE) of them. Then times the real app
(Litestar over ASGI, the app's own pool) answering
`GET /v1/reports/channels?from=2025-01-01&to=2025-12-31` with an admin key: one cold call,
then `--repeat` warm ones; the same with `location=` one store.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python ops/bench/reports_channels.py --orders 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402

from tests.support import alembic_config, recreate_database  # noqa: E402

DB_NAME = "oms_bench_reports"

SEED = """
SELECT setseed(0.15);

INSERT INTO locations (code, name, kind, address, latitude, longitude, time_zone, ships, pickup,
                       accepts_returns, daily_capacity)
SELECT 'WH-' || i, 'Warehouse ' || i, 'warehouse', '', 45.7, 4.8, 'Europe/Paris', true, false, true, 1000000
FROM generate_series(1, 2) i
UNION ALL
SELECT 'STORE-' || lpad(i::text, 2, '0'), 'Store ' || i, 'store', '', 48.8, 2.3, 'Europe/Paris', true, true, true,
       1000000
FROM generate_series(1, 20) i;

INSERT INTO customers (id, name, card_number)
SELECT md5('c' || i)::uuid, 'Customer ' || i, '29' || lpad(i::text, 11, '0')
FROM generate_series(1, 200000) i;

INSERT INTO loyalty_accounts (id, card_number, customer_id, tier)
SELECT md5('a' || i)::uuid, '29' || lpad(i::text, 11, '0'), md5('c' || i)::uuid, 'base'
FROM generate_series(1, 200000) i;

CREATE UNLOGGED TABLE seed_orders AS
SELECT i, md5('o' || i)::uuid AS id,
       CASE WHEN r1 < .40 THEN 'web' WHEN r1 < .65 THEN 'app' WHEN r1 < .73 THEN 'kiosk'
            WHEN r1 < .80 THEN 'contact_center' ELSE 'pos' END AS channel,
       timestamptz '2025-01-01 00:00Z' + r2 * interval '365 days' AS placed_at,
       'STORE-' || lpad((1 + floor(r3 * 20))::int::text, 2, '0') AS store,
       r4 < .30 AS wants_pickup,
       CASE WHEN r5 < .65 THEN 1 + floor(r6 * 200000)::int END AS customer,
       r7 < .03 AS cancelled,
       1 + floor(r8 * 4)::int AS lines
FROM (SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, random() r7,
             random() r8
      FROM generate_series(1, :orders) i) r;
UPDATE seed_orders SET wants_pickup = true WHERE channel = 'pos';

CREATE UNLOGGED TABLE seed_lines AS
SELECT order_id, line_no, sku, quantity, unit_price,
       CASE WHEN pickup THEN store
            WHEN channel = 'kiosk' AND r < .30 THEN 'WH-1'
            WHEN r < .20 THEN store
            WHEN line_no > 1 AND r2 < .10 THEN 'WH-2'
            ELSE 'WH-1' END AS location_code,
       CASE WHEN pickup AND channel <> 'pos' AND r < .15 THEN 'WH-1' END AS sent_from
FROM (SELECT o.id AS order_id, n AS line_no, 'SKU-' || floor(random() * 5000)::int AS sku,
             1 + (random() < .2)::int AS quantity, 500 + floor(random() * 9500)::int AS unit_price,
             o.wants_pickup AS pickup, o.channel, o.store, random() AS r, random() AS r2
      FROM seed_orders o, generate_series(1, o.lines) n) x;

INSERT INTO orders (id, number, status, channel, store_code, api_key_id, customer_id, fulfillment,
                    pickup_location_code, delivery_address, currency, subtotal, discount_total, total, pricing,
                    reservation_ref, payment_key, placed_at, updated_at, cancelled_at)
SELECT o.id, 'B' || lpad(o.i::text, 9, '0'), CASE WHEN o.cancelled THEN 'cancelled' ELSE 'completed' END,
       o.channel, CASE WHEN o.channel IN ('kiosk', 'pos') THEN o.store END, md5('key')::uuid,
       md5('c' || o.customer)::uuid, CASE WHEN o.wants_pickup THEN 'pickup' ELSE 'delivery' END,
       CASE WHEN o.wants_pickup THEN o.store END,
       CASE WHEN o.wants_pickup THEN NULL ELSE '{"city": "Paris", "country": "FR"}'::jsonb END,
       'EUR', t.total, 0, t.total, '{}', 'order:' || o.id, 'pk-' || o.i, o.placed_at, o.placed_at,
       CASE WHEN o.cancelled THEN o.placed_at + interval '1 hour' END
FROM seed_orders o
JOIN (SELECT order_id, sum(quantity * unit_price) AS total FROM seed_lines GROUP BY order_id) t ON t.order_id = o.id;

INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price, discount, line_total, pricing, location_code)
SELECT order_id, line_no, sku, quantity, unit_price, 0, quantity * unit_price, '{}', location_code FROM seed_lines;

CREATE UNLOGGED TABLE seed_fos AS
SELECT md5('f' || o.id || x.location_code || x.type)::uuid AS id, o.id AS order_id, o.i, o.placed_at, o.cancelled,
       x.location_code, o.store, x.type, sum(x.quantity)::int AS units, random() AS r, random() AS r2,
       row_number() OVER (PARTITION BY o.id ORDER BY x.type, x.location_code) AS n
FROM seed_orders o
JOIN (SELECT l.order_id, l.location_code, CASE WHEN p.wants_pickup THEN 'pickup' ELSE 'delivery' END AS type,
             l.quantity
      FROM seed_lines l JOIN seed_orders p ON p.id = l.order_id
      UNION ALL
      SELECT order_id, sent_from, 'ship_to_store', quantity FROM seed_lines WHERE sent_from IS NOT NULL) x
  ON x.order_id = o.id
GROUP BY o.id, o.i, o.placed_at, o.cancelled, x.location_code, o.store, x.type;

INSERT INTO fulfillment_orders (id, number, order_id, order_number, location_code, type, status, deliver_to,
                                units, reject_reason, ready_at, closed_at, created_at, updated_at)
SELECT f.id, 'B' || lpad(f.i::text, 9, '0') || '-' || f.n, f.order_id, 'B' || lpad(f.i::text, 9, '0'),
       f.location_code, f.type,
       CASE WHEN f.cancelled THEN 'cancelled'
            WHEN f.type = 'delivery' AND f.location_code LIKE 'STORE-%' AND f.r < .05 THEN 'rejected'
            WHEN f.type = 'pickup' AND f.r < .07 THEN 'expired'
            WHEN f.type = 'pickup' THEN 'collected' ELSE 'delivered' END,
       CASE WHEN f.type = 'ship_to_store' THEN f.store END,
       f.units,
       CASE WHEN NOT f.cancelled AND f.type = 'delivery' AND f.location_code LIKE 'STORE-%' AND f.r < .05
            THEN (ARRAY['no_staff', 'item_damaged', 'not_found', 'timeout'])[1 + floor(f.r2 * 4)::int] END,
       CASE WHEN f.type = 'pickup' AND NOT f.cancelled THEN f.placed_at + f.r2 * interval '30 hours' END,
       CASE WHEN f.cancelled THEN f.placed_at + interval '1 hour'
            WHEN f.type = 'pickup' THEN f.placed_at + f.r2 * interval '30 hours' + f.r * interval '5 days'
            ELSE f.placed_at + interval '3 days' END,
       f.placed_at, f.placed_at
FROM seed_fos f;

INSERT INTO fulfillment_order_lines (fulfillment_order_id, line_id, sku, quantity, picked_quantity)
SELECT md5('f' || order_id || sent_from || 'ship_to_store')::uuid, line_no::text, sku, quantity, quantity
FROM seed_lines WHERE sent_from IS NOT NULL;

INSERT INTO fulfillment_events (order_id, fulfillment_order_id, kind, from_status, to_status, at)
SELECT f.order_id, f.id, k.kind, k.from_status, k.to_status,
       f.placed_at + (k.hours + f.r2 * 48) * interval '1 hour'
FROM seed_fos f
CROSS JOIN (VALUES ('pack', 'picked', 'packed', 2), ('ship', 'packed', 'shipped', 4))
     AS k(kind, from_status, to_status, hours)
WHERE NOT f.cancelled AND f.type <> 'pickup' AND NOT (f.location_code LIKE 'STORE-%' AND f.r < .05);

INSERT INTO returns (id, number, order_id, order_number, mode, status, channel, api_key_id, location_code, reason,
                     currency, refund_total, created_at, updated_at, received_at, refunded_at)
SELECT md5('r' || o.i)::uuid, 'R' || lpad(o.i::text, 9, '0'), o.id, 'B' || lpad(o.i::text, 9, '0'), 'immediate',
       'refunded', CASE WHEN random() < .5 THEN o.channel ELSE 'pos' END, md5('key')::uuid, o.store, 'seed', 'EUR',
       l.quantity * l.unit_price, o.placed_at + interval '10 days', o.placed_at + interval '10 days',
       o.placed_at + interval '10 days', o.placed_at + interval '10 days'
FROM seed_orders o JOIN seed_lines l ON l.order_id = o.id AND l.line_no = 1
WHERE NOT o.cancelled AND random() < .08;

INSERT INTO return_lines (return_id, line_no, sku, quantity, restocked, refund_amount)
SELECT r.id, 1, l.sku, l.quantity, l.quantity, r.refund_total
FROM returns r JOIN seed_lines l ON l.order_id = r.order_id AND l.line_no = 1;

INSERT INTO loyalty_ledger (account_id, kind, points, reference, channel, occurred_at, recorded_at)
SELECT md5('a' || o.customer)::uuid, 'earn', 1 + o.i % 200, o.id::text, o.channel, o.placed_at + interval '3 days',
       o.placed_at + interval '3 days'
FROM seed_orders o WHERE o.customer IS NOT NULL AND NOT o.cancelled
UNION ALL
SELECT md5('a' || o.customer)::uuid, 'redeem', -100, o.id::text, o.channel, o.placed_at, o.placed_at
FROM seed_orders o WHERE o.customer IS NOT NULL AND NOT o.cancelled AND o.i % 20 = 0;

DROP TABLE seed_orders, seed_lines, seed_fos;
"""


def seed(url: str, orders: int) -> None:
    import psycopg

    sql = SEED.replace(":orders", str(int(orders)))
    with psycopg.connect(url.replace("postgresql+asyncpg", "postgresql"), autocommit=True) as conn:
        for statement in (s.strip() for s in sql.split(";\n")):
            if not statement:
                continue
            started = time.perf_counter()
            conn.execute(statement)  # type: ignore[call-overload]
            label = " ".join(statement.split()[:3])
            print(f"  {label:<40} {time.perf_counter() - started:6.1f} s", flush=True)
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  {'VACUUM ANALYZE':<40} {time.perf_counter() - started:6.1f} s", flush=True)


async def rebuild(batch: int, contributions: bool = True) -> None:
    """What `oms reports rebuild` does (app/cli/reports_rebuild.py), step by step, timed;
    without `contributions`, only its last steps (the summary from the recorded ones)."""
    from app.core.db import autocommit, create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings
    from app.reports import service

    engine = create_engine(reload_settings())
    maker = create_sessionmaker(engine)
    started, done = time.perf_counter(), 0
    if contributions:
        async with transaction(maker) as session:
            await service.begin_rebuild(session)
    after: tuple[Any, Any] | None = None
    while contributions:
        async with transaction(maker) as session:
            after = await service.rebuild(session, after, batch)
        if after is None:
            break
        done += batch
        if done % 100_000 < batch:
            print(f"  contributions: {done} orders, {time.perf_counter() - started:.0f} s", flush=True)
    step = time.perf_counter()
    print(f"  contributions recorded in {step - started:.1f} s", flush=True)
    async with transaction(maker) as session:
        await service.end_rebuild(session)
    print(f"  summary tables in bulk from them in {time.perf_counter() - step:.1f} s", flush=True)
    step = time.perf_counter()
    async with autocommit(maker) as session:
        await service.tidy_summary(session)
    print(f"  VACUUM (ANALYZE) of the fresh tables in {time.perf_counter() - step:.1f} s", flush=True)
    await engine.dispose()
    print(f"summary rebuilt in {time.perf_counter() - started:.1f} s", flush=True)


async def time_report(repeat: int) -> None:
    import httpx

    from app.core.auth import Role, create_key
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings
    from app.main import create_app

    settings = reload_settings()
    engine = create_engine(settings)
    async with transaction(create_sessionmaker(engine)) as session:
        _, key = await create_key(session, role=Role.ADMIN, name="reports bench")
    await engine.dispose()
    app = create_app(settings, log=False)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://oms.bench", timeout=120
    ) as client:
        for label, params in (
            ("whole year", {"from": "2025-01-01", "to": "2025-12-31"}),
            ("whole year, one store", {"from": "2025-01-01", "to": "2025-12-31", "location": "STORE-07"}),
            ("one month", {"from": "2025-06-01", "to": "2025-06-30"}),
        ):
            times = []
            for n in range(repeat + 1):
                started = time.perf_counter()
                response = await client.get("/v1/reports/channels", params=params, headers=headers)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                if n == 0:
                    cold = elapsed
                    body = response.json()
                else:
                    times.append(elapsed)
            print(
                f"GET /v1/reports/channels, {label}: cold {cold * 1000:.0f} ms, warm median "
                f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                f"(orders {body['totals']['orders']}, revenue {body['totals']['revenue']})",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5000, help="orders per summary rebuild transaction")
    parser.add_argument("--no-seed", action="store_true", help="reuse the database of the previous run")
    parser.add_argument("--rebuild", action="store_true", help="with --no-seed: rebuild the summary anyway")
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="with --no-seed: only the rebuild's last steps (the summary tables from the recorded contributions)",
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    if args.no_seed:
        from tests.support import test_database_url

        url = test_database_url(base, DB_NAME)
        command.upgrade(alembic_config(url), "head")
    else:
        url = recreate_database(base, DB_NAME)
        command.upgrade(alembic_config(url), "head")
        started = time.perf_counter()
        seed(url, args.orders)
        print(f"seeded {args.orders} orders in {time.perf_counter() - started:.1f} s", flush=True)
    os.environ["DATABASE_URL"] = url
    if not args.no_seed or args.rebuild or args.summary_only:
        asyncio.run(rebuild(args.batch, contributions=not args.summary_only))
    print(f"load average: {os.getloadavg()}", flush=True)
    asyncio.run(time_report(args.repeat))


if __name__ == "__main__":
    main()
