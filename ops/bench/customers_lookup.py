"""Customer look-ups at scale: email / phone / card / absorbed id, through the service.

Builds a scratch database (`oms_bench_customers`) on the server of DATABASE_URL, migrates it,
loads N customers (bulk insert) and merges M pairs through the service, then times
look-ups — each one SQL round trip that also resolves merges — and prints the plan of
the card look-up (an index scan, whatever N is).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python ops/bench/customers_lookup.py --customers 200000 --merges 2000 --lookups 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = "oms_bench_customers"


def _rows(n: int) -> list[dict[str, Any]]:
    from app.customers import rules

    cards: set[str] = set()
    while len(cards) < n:
        cards.add(rules.new_card_number())
    return [
        {
            "id": uuid.uuid4(),
            "name": f"Customer {i}",
            "email": f"customer{i}@example.com",
            "phone": f"+4930{10_000_000 + i}",
            "card_number": card,
            "addresses": [{"line1": f"Street {i}", "city": "Berlin", "country": "DE"}],
        }
        for i, card in enumerate(sorted(cards))
    ]


async def _timed(label: str, calls: list[Callable[[], Awaitable[Any]]]) -> None:
    samples = []
    for call in calls:
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{label:<24} n={len(samples):>6}  p50={p50:.3f} ms  p95={p95:.3f} ms")


async def run(customers: int, merges: int, lookups: int) -> None:
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings
    from app.customers import service
    from app.customers.models import Customer
    from app.flows import customer_merge

    engine = create_engine(reload_settings())
    maker = create_sessionmaker(engine)
    rows = _rows(customers)
    started = time.perf_counter()
    async with transaction(maker) as session:
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(Customer), rows[chunk : chunk + 5000])
    print(f"loaded {customers} customers in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    pairs = [(rows[2 * i]["id"], rows[2 * i + 1]["id"]) for i in range(merges)]
    for survivor_id, absorbed_id in pairs:
        async with transaction(maker) as session:
            await customer_merge.merge_customers(session, survivor_id, absorbed_id)
    print(f"merged {merges} pairs in {time.perf_counter() - started:.1f} s (one transaction each)")
    async with maker() as session:
        await session.execute(text("ANALYZE customers"))
        sample = random.sample(rows, lookups)
        absorbed = [absorbed_id for _, absorbed_id in pairs] or [rows[0]["id"]]
        await _timed("by email", [lambda r=r: service.find_customers(session, email=r["email"]) for r in sample])
        await _timed("by phone", [lambda r=r: service.find_customers(session, phone=r["phone"]) for r in sample])
        await _timed("by card", [lambda r=r: service.find_customers(session, card=r["card_number"]) for r in sample])
        await _timed(
            "absorbed id -> survivor",
            [lambda a=random.choice(absorbed): service.get_customer(session, a) for _ in range(lookups)],
        )
        plan = await session.execute(
            text(
                "EXPLAIN SELECT c.* FROM customers hit JOIN customers c ON c.id = coalesce(hit.merged_into_id, hit.id)"
                " WHERE hit.card_number = :card"
            ),
            {"card": sample[0]["card_number"]},
        )
        print("plan of a card look-up:")
        for (line,) in plan:
            print("   ", line)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--merges", type=int, default=2_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    url = recreate_database(base, DB_NAME)
    os.environ["DATABASE_URL"] = url
    try:
        command.upgrade(alembic_config(url), "head")
        asyncio.run(run(args.customers, args.merges, args.lookups))
    finally:
        drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
