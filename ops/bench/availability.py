"""Availability (ATP) of 50 SKUs with 1,000,000 stock rows.

    createdb oms_bench_atp
    DATABASE_URL=postgresql://.../oms_bench_atp .venv/bin/oms migrate
    DATABASE_URL=postgresql://.../oms_bench_atp .venv/bin/python ops/bench/availability.py [--url http://127.0.0.1:8766]

Seeds (once; skipped when present) 10,000 SKUs x 100 locations (20 warehouses, 80 stores
spread over France) = 1,000,000 stock rows, each with its receipt in the ledger, then times
`service.availability` for random sets of 50 SKUs. The answer is bounded (README
"Availability"): at most `limit` locations (default 20), nearest first with a point, else
by code with a cursor to the next page. Cases: near a point (the default 20 nearest; 50 km
pickup stores only; the 100 nearest), and without a point (the first page by code, and the
page its cursor leads to). Measured around the service call on one connection (the two
queries and the Python that shapes the answer, promise dates included). With --url it also
times `GET /v1/availability` over HTTP (one keep-alive connection, sequential requests).
--profile prints a cProfile of the default near-a-point case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SKUS = 10_000
LOCATIONS = 100
WAREHOUSES = 20

SEED_SQL = [
    """INSERT INTO products (id, code, name, description, not_sold_in, returnable, attributes, created_at, updated_at)
       SELECT md5('atp' || p)::uuid, 'ATP-P' || p, 'Product ' || p, '', '{}', true, '{}', now(), now()
       FROM generate_series(1, :skus / 10) p""",
    """INSERT INTO variants (sku, product_id, attributes, created_at, updated_at)
       SELECT 'ATP-' || lpad(v::text, 6, '0'), md5('atp' || ((v - 1) / 10 + 1))::uuid, '{}', now(), now()
       FROM generate_series(1, :skus) v""",
    """INSERT INTO locations (code, name, kind, address, latitude, longitude, time_zone, ships, pickup,
                             accepts_returns, daily_capacity, default_safety_stock, active, created_at, updated_at)
       SELECT 'ATP-L' || lpad(n::text, 3, '0'), 'Location ' || n,
              CASE WHEN n <= :warehouses THEN 'warehouse' ELSE 'store' END, '',
              43 + (n * 7919 % 700) / 100.0, -1 + (n * 104729 % 800) / 100.0, 'Europe/Paris',
              n <= :warehouses OR n % 5 = 0, n > :warehouses, n > :warehouses,
              CASE WHEN n <= :warehouses THEN 5000 ELSE 50 END, CASE WHEN n <= :warehouses THEN 0 ELSE 1 END,
              true, now(), now()
       FROM generate_series(1, :locations) n""",
    """INSERT INTO stock_levels (sku, location_code, on_hand, reserved, in_transit, updated_at)
       SELECT 'ATP-' || lpad(v::text, 6, '0'), 'ATP-L' || lpad(n::text, 3, '0'), (v * n) % 23, 0, 0, now()
       FROM generate_series(1, :skus) v, generate_series(1, :locations) n""",
    """INSERT INTO stock_movements (sku, location_code, delta, on_hand_after, reason, reference,
                                    effective_at, recorded_at)
       SELECT sku, location_code, on_hand, on_hand, 'receipt', 'bench', now(), now()
       FROM stock_levels WHERE sku LIKE 'ATP-%' AND on_hand > 0""",
    "ANALYZE",
]


async def seed() -> None:
    from sqlalchemy import text

    from app.core.db import create_engine
    from app.core.settings import reload_settings

    engine = create_engine(reload_settings())
    async with engine.connect() as conn:
        present = await conn.scalar(text("SELECT count(*) FROM stock_levels WHERE sku LIKE 'ATP-%'"))
    if present == SKUS * LOCATIONS:
        print(f"{present:,} stock rows present")
        await engine.dispose()
        return
    params = {"skus": SKUS, "locations": LOCATIONS, "warehouses": WAREHOUSES}
    started = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execute(text("SET statement_timeout = 0"))
        for sql in SEED_SQL:
            await conn.execute(text(sql), params if ":" in sql else {})
            await conn.commit()
    rows = SKUS * LOCATIONS
    print(f"seeded {rows:,} stock rows (+ ledger) in {time.perf_counter() - started:.1f} s")
    await engine.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def sample(rng: random.Random) -> list[str]:
    return [f"ATP-{n:06d}" for n in rng.sample(range(1, SKUS + 1), 50)]


async def time_service(requests: int) -> None:
    from app.core.db import create_engine, create_sessionmaker
    from app.core.settings import reload_settings
    from app.inventory import service

    engine = create_engine(reload_settings())
    maker = create_sessionmaker(engine)
    rng = random.Random(7)
    paris = {"lat": 48.85, "lon": 2.35}
    cases: dict[str, dict[str, object]] = {
        "near Paris, nearest 20 locations (default limit)": paris,
        "near Paris, 50 km, pickup stores": {**paris, "radius_km": 50.0, "pickup_only": True},
        "near Paris, nearest 100 locations (max limit)": {**paris, "limit": 100},
        "no point, first page of 20 by code": {},
        "no point, second page (cursor)": {"second_page": True},
    }
    async with maker() as session:
        for name, options in cases.items():
            second = bool(options.pop("second_page", False))
            for _ in range(50):  # warm the cache and the prepared statements
                await service.availability(session, skus=sample(rng), channel="web", **options)  # type: ignore[arg-type]
            times = []
            entries = 0
            for _ in range(requests):
                skus = sample(rng)
                cursor = None
                if second:
                    cursor = (await service.availability(session, skus=skus, channel="web")).next_cursor
                started = time.perf_counter()
                out = await service.availability(session, skus=skus, channel="web", cursor=cursor, **options)  # type: ignore[arg-type]
                times.append(time.perf_counter() - started)
                entries += sum(len(i.locations) for i in out.items)
            print(
                f"service, {name}: p50 {pct(times, 50):.2f} ms, p99 {pct(times, 99):.2f} ms, "
                f"max {pct(times, 100):.2f} ms ({entries / requests:.0f} location entries per answer)"
            )
            await session.rollback()
    await engine.dispose()


async def profile(requests: int) -> None:
    """Where a near-a-point answer spends its time in this process (the rest is PostgreSQL)."""
    import cProfile
    import pstats

    from app.core.db import create_engine, create_sessionmaker
    from app.core.settings import reload_settings
    from app.inventory import service

    engine = create_engine(reload_settings())
    rng = random.Random(5)
    async with create_sessionmaker(engine)() as session:
        for _ in range(50):
            await service.availability(session, skus=sample(rng), channel="web", lat=48.85, lon=2.35)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            await service.availability(session, skus=sample(rng), channel="web", lat=48.85, lon=2.35)
        profiler.disable()
        print(f"{requests} answers in {time.perf_counter() - started:.2f} s (profiled)")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    await engine.dispose()


async def time_http(url: str, key: str, requests: int) -> None:
    import httpx

    rng = random.Random(11)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        for name, extra in (
            ("near Paris, nearest 20", "&lat=48.85&lon=2.35"),
            ("near Paris 50 km pickup", "&lat=48.85&lon=2.35&radius_km=50&pickup_only=true"),
            ("no point, first page of 20", ""),
        ):
            times = []
            for n in range(requests + 50):
                path = "/v1/availability?skus=" + ",".join(sample(rng)) + extra
                started = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                if n >= 50:
                    times.append(elapsed)
            print(
                f"HTTP, {name}: p50 {pct(times, 50):.2f} ms, p99 {pct(times, 99):.2f} ms, max {pct(times, 100):.2f} ms"
            )


async def make_key() -> str:
    from app.core.auth import Channel, Role, create_key
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings

    engine = create_engine(reload_settings())
    async with transaction(create_sessionmaker(engine)) as session:
        _, key = await create_key(session, role=Role.STOREFRONT, name="atp bench", channel=Channel.WEB)
    await engine.dispose()
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--url", default=None, help="also time GET /v1/availability on a running service")
    parser.add_argument("--profile", action="store_true", help="cProfile the default near-a-point case")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL")
    asyncio.run(seed())
    if args.profile:
        asyncio.run(profile(args.requests))
        return
    asyncio.run(time_service(args.requests))
    if args.url:
        key = asyncio.run(make_key())
        asyncio.run(time_http(args.url, key, args.requests))


if __name__ == "__main__":
    main()
