"""One order placement under the microscope: the same 3-line card + home-delivery order as
`orders_place.py`, run in-process (the app over httpx's ASGI transport, no server), one at a
time. Prints the SQL statements of one placement (and connection checkouts / BEGINs), then
wall time and this process's user/system CPU per order over --orders placements; with
--pyinstrument, where the time goes (pyinstrument is not a dependency: `pip install
pyinstrument` into the venv first).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python ops/bench/orders_profile.py --orders 200 [--pyinstrument | --cprofile]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "ops" / "bench"))

import httpx  # noqa: E402
import orders_place  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import event  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = f"oms_bench_orders_profile_{os.getpid()}"  # several may run at once
ADDRESS = {"line1": "1 Bench Street", "city": "Munich", "postal_code": "80331", "country": "DE"}


async def profile(orders: int, with_pyinstrument: bool, with_cprofile: bool = False) -> None:
    from app.core.settings import reload_settings
    from app.main import create_app

    skus, key = await orders_place.seed()
    app = create_app(reload_settings(), log=False)
    engine = app.state.sessionmaker.kw["bind"]
    statements: list[str] = []
    counts: Counter[str] = Counter()

    def on_query(query: Any) -> None:  # asyncpg's query logger: SQLAlchemy's and driver statements
        statements.append(" ".join(query.query.split())[:150])

    event.listen(
        engine.sync_engine, "connect", lambda dbapi, record: dbapi.driver_connection.add_query_logger(on_query)
    )
    # SQLAlchemy's statements go through asyncpg's prepared-statement API, which the query
    # logger does not see: list them from SQLAlchemy's own event.
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(" ".join(statement.split())[:150]),
    )
    event.listen(engine.sync_engine.pool, "checkout", lambda *a: counts.update(["checkout"]))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        cart = await client.post("/v1/carts", json={"lines": [{"sku": sku, "quantity": 1} for sku in skus]})
        price = {line["sku"]: line["unit_price"] for line in cart.json()["lines"]}

        async def place() -> None:
            lines = random.sample(skus, 3)
            body = {
                "lines": [{"sku": sku, "quantity": 1} for sku in lines],
                "fulfillment": {"method": "delivery", "address": ADDRESS},
                "tenders": [{"kind": "card", "amount": sum(price[s] for s in lines), "card_token": "tok_visa"}],
            }
            r = await client.post("/v1/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            if r.status_code != 201:
                raise SystemExit(f"placement failed: {r.status_code} {r.text}")

        for _ in range(5):  # warm: compiled statements, prepared statements, pool
            await place()
        statements.clear()
        counts.clear()
        await place()
        await asyncio.sleep(0.01)  # asyncpg calls its query loggers soon after each query
        print(f"one placement: {len(statements)} round trips, {dict(counts)}")
        for statement in statements:
            print(f"  {statement}")
        profiler: Any = None
        if with_pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
        if with_cprofile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        wall, cpu = time.perf_counter(), os.times()
        for _ in range(orders):
            await place()
        wall, after = time.perf_counter() - wall, os.times()
        if with_cprofile:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(45)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(80)
        elif profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False))
        user, system = (after.user - cpu.user) / orders * 1000, (after.system - cpu.system) / orders * 1000
        print(
            f"{orders} placements one at a time: {wall / orders * 1000:.1f} ms each ({orders / wall:.1f}/s); "
            f"CPU of this process (API + test client) per order: user {user:.2f} ms, system {system:.2f} ms; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--cprofile", action="store_true", help="cProfile: functions by own and cumulative time")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    url = recreate_database(base, DB_NAME)
    os.environ["DATABASE_URL"] = url
    try:
        command.upgrade(alembic_config(url), "head")
        asyncio.run(profile(args.orders, args.pyinstrument, args.cprofile))
    finally:
        drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
