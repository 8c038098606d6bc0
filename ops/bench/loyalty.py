"""Loyalty at scale: earning, redeeming (also on one hot card), the card view, the sweeps.

Builds a scratch database (`oms_bench_loyalty`) on the server of DATABASE_URL, migrates it,
bulk-loads N customers, then through the service (one transaction per call, like the
actors and the order placement do):
  1. earns one order of 3 lines per customer, `--orders` times in all,
  2. releases every pending point (`release_pending`, batches of 500 cards),
  3. redeems 10 points on random cards,
  4. redeems 1 point `--hot` times at once on ONE card (contention on its account row),
  5. reads the card view of a card with a long ledger,
  6. expires every point two years later (`expire_points`).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python ops/bench/loyalty.py --customers 5000 --orders 5000 --redeems 1000 --hot 50
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = "oms_bench_loyalty"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _customers(n: int) -> list[dict[str, Any]]:
    from app.customers import rules

    cards: set[str] = set()
    while len(cards) < n:
        cards.add(rules.new_card_number())
    return [{"id": uuid.uuid4(), "name": f"Customer {i}", "card_number": card} for i, card in enumerate(sorted(cards))]


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) >= 20 else ordered[-1]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


async def _timed(label: str, calls: list[Callable[[], Awaitable[Any]]]) -> None:
    samples = []
    for call in calls:
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    print(f"{label}: {len(calls)} calls, {_percentiles(samples)}, total {sum(samples):.1f} s")


async def main(args: argparse.Namespace) -> None:
    from app.core import clock
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem
    from app.core.settings import get_settings, reload_settings
    from app.customers.models import Customer
    from app.loyalty import service

    engine = create_engine(reload_settings())
    maker = create_sessionmaker(engine)
    rows = _customers(args.customers)
    async with transaction(maker) as session:
        await session.execute(insert(Customer), rows)
    cards = [row["card_number"] for row in rows]
    clock.freeze(START)

    def earn_call(i: int) -> Callable[[], Awaitable[Any]]:
        async def call() -> None:
            async with transaction(maker) as session:
                await service.earn(
                    session,
                    source_id=f"fo-{i}",
                    event_type="fulfillment.delivered",
                    card_number=cards[i % len(cards)],
                    channel=random.choice(["web", "app", "kiosk", "contact_center", "pos"]),
                    lines=[(f"ol-{i}-1", 1999), (f"ol-{i}-2", 4550), (f"ol-{i}-3", 999)],
                    currency="EUR",
                    occurred_at=START,
                    order_id=f"order-{i}",
                )

        return call

    await _timed("earn (3-line order, new card opened on first use)", [earn_call(i) for i in range(args.orders)])

    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    started = time.perf_counter()
    batches = 0
    while True:
        async with transaction(maker) as session:
            if not await service.release_pending(session):
                break
        batches += 1
    released = min(args.orders, len(cards))
    print(f"release_pending: {released} cards in {batches} batches, {time.perf_counter() - started:.2f} s")

    earned_cards = cards[: min(args.orders, len(cards))]

    def redeem_call(i: int) -> Callable[[], Awaitable[Any]]:
        async def call() -> None:
            async with transaction(maker) as session:
                await service.redeem(
                    session, card_number=random.choice(earned_cards), points=10, reference=f"r-{i}", channel="web"
                )

        return call

    await _timed("redeem 10 points (conditional UPDATE + FIFO lots)", [redeem_call(i) for i in range(args.redeems)])

    hot = earned_cards[0]
    async with transaction(maker) as session:
        await service.adjust(session, card_number=hot, points=args.hot, reason="bench")

    async def hot_redeem(i: int) -> str:
        try:
            async with transaction(maker) as session:
                await service.redeem(session, card_number=hot, points=1, reference=f"hot-{i}", channel="pos")
            return "ok"
        except Problem as problem:
            return problem.code

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(hot_redeem(i) for i in range(args.hot)))
    elapsed = time.perf_counter() - started
    print(
        f"hot card: {args.hot} simultaneous 1-point redemptions: {outcomes.count('ok')} ok, "
        f"{len(outcomes) - outcomes.count('ok')} refused, {elapsed:.2f} s ({args.hot / elapsed:.0f}/s)"
    )

    async def view() -> None:
        async with maker() as session:
            await service.card_view(session, hot)

    await _timed(f"card view of a card with {args.orders // len(cards) + args.hot + 2}+ ledger rows", [view] * 200)

    clock.freeze(START + timedelta(days=3 * 365))
    started = time.perf_counter()
    while True:
        async with transaction(maker) as session:
            if not await service.expire_points(session):
                break
    print(f"expire_points: every card, {time.perf_counter() - started:.2f} s")
    async with maker() as session:
        problems = await service.audit(session)
    print(f"audit: {len(problems)} cards disagree with their ledger")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--redeems", type=int, default=1000)
    parser.add_argument("--hot", type=int, default=50)
    args = parser.parse_args()
    base = os.environ["DATABASE_URL"]
    url = recreate_database(base, DB_NAME)
    try:
        command.upgrade(alembic_config(url), "head")
        os.environ["DATABASE_URL"] = url
        asyncio.run(main(args))
    finally:
        drop_database(base, DB_NAME)
