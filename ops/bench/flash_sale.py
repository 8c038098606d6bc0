"""Flash sale over HTTP: N units of one SKU, M buyers arriving within S seconds, one unit each,
through `POST /v1/reservations` of a running service.

    createdb oms_bench_inventory   # any empty database
    DATABASE_URL=postgresql://.../oms_bench_inventory OMS_LOG_LEVEL=WARNING \\
        .venv/bin/oms serve --port 8765 --workers 2 &
    DATABASE_URL=postgresql://.../oms_bench_inventory .venv/bin/python ops/bench/flash_sale.py --url http://127.0.0.1:8765

The script seeds the SKU, a warehouse and the units directly (through the inventory service,
so the ledger is right), creates a storefront key, then replays the arrivals open-loop: buyer i
is due at i * S / M seconds and sends when a keep-alive connection is free. A buyer answered
429 honours Retry-After and tries again while the sale lasts. It reports the sold count
(from the database), the time to sell out, latency percentiles of winners and losers
(measured from sending, and from the buyer's due time), the status codes, and runs the
integrity check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SKU = "FLASH-0001"
LOCATION = "WH-FLASH"


async def seed(units: int) -> str:
    from sqlalchemy import text

    from app.catalog.models import Product, Variant
    from app.core import clock
    from app.core.auth import Channel, Role, create_key
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings
    from app.inventory import service
    from app.inventory.models import Location

    settings = reload_settings()
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    async with transaction(maker) as session:
        # a fresh sale every run: drop what a previous run left
        await session.execute(
            text(
                "TRUNCATE reservation_lines, reservations, stock_movements, stock_levels, outbox_events, "
                "idempotency_records"
            )
        )
        if await session.get(Location, LOCATION) is None:
            now = clock.now()
            product = Product(id=uuid.uuid4(), code="FLASH", name="Flash sale sneaker", not_sold_in=[])
            session.add(product)
            await session.flush()
            session.add(Variant(sku=SKU, product_id=product.id))
            session.add(
                Location(
                    code=LOCATION,
                    name="Flash warehouse",
                    kind="warehouse",
                    address="",
                    latitude=48.85,
                    longitude=2.35,
                    time_zone="Europe/Paris",
                    ships=True,
                    pickup=False,
                    accepts_returns=False,
                    daily_capacity=100_000,
                    default_safety_stock=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
        await service.adjust(session, sku=SKU, location_code=LOCATION, delta=units, reason="receipt")
        _, key = await create_key(session, role=Role.STOREFRONT, name="flash bench", channel=Channel.WEB)
    await engine.dispose()
    return key


async def verify() -> tuple[int, int, int]:
    from sqlalchemy import text

    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings
    from app.inventory import service

    engine = create_engine(reload_settings())
    async with transaction(create_sessionmaker(engine)) as session:
        reserved = int(await session.scalar(text("SELECT reserved FROM stock_levels WHERE sku = :s"), {"s": SKU}) or 0)
        holds = int(await session.scalar(text("SELECT count(*) FROM reservations")) or 0)
        findings = await service.check_integrity(session)
    await engine.dispose()
    return reserved, holds, len(findings)


@dataclass
class Outcome:
    status: int
    sent: float  # monotonic
    done: float
    due: float


@dataclass
class Stats:
    outcomes: list[Outcome] = field(default_factory=list)
    retries: int = 0
    errors: int = 0


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, key: str) -> tuple[int, dict[str, str]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length:
            await self.reader.readexactly(length)
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return status, headers


async def run(url: str, key: str, buyers: int, seconds: float, connections: int, deadline: float) -> Stats:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    stats = Stats()
    start = time.monotonic()

    async def buyer(i: int) -> None:
        due = start + i * seconds / buyers
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        body = json.dumps(
            {"reference": f"hold:{uuid.uuid4()}", "lines": [{"sku": SKU, "location": LOCATION, "quantity": 1}]}
        ).encode()
        while True:
            conn = await pool.get()
            sent = time.monotonic()
            try:
                status, headers = await conn.post("/v1/reservations", body, key)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                stats.errors += 1
                conn.writer = None
                pool.put_nowait(conn)
                return
            pool.put_nowait(conn)
            stats.outcomes.append(Outcome(status, sent, time.monotonic(), due))
            if status == 429 and time.monotonic() - start < deadline:
                stats.retries += 1
                await asyncio.sleep(float(headers.get("retry-after", "1")))
                continue
            return

    await asyncio.gather(*(buyer(i) for i in range(buyers)))
    return stats


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def report(stats: Stats, units: int, sold: int, holds: int, findings: int) -> None:
    out = stats.outcomes
    start = min(o.sent for o in out)
    wins = [o for o in out if o.status == 201]
    losses = [o for o in out if o.status in (409, 429)]
    codes: dict[int, int] = {}
    for o in out:
        codes[o.status] = codes.get(o.status, 0) + 1
    sold_out_at = max(o.done for o in wins) - start if wins else float("nan")
    win_span = (max(o.done for o in wins) - min(o.done for o in wins)) if len(wins) > 1 else float("nan")
    print(
        f"status codes: {dict(sorted(codes.items()))}  retries after 429: {stats.retries}  "
        f"socket errors: {stats.errors}"
    )
    print(f"sold (reserved in DB): {sold} of {units}; reservations: {holds}; oversold: {max(0, sold - units)}")
    print(f"sold out after: {sold_out_at:.2f} s from the first request")
    print(f"winners: hold rate {len(wins) / win_span if win_span else float('nan'):.0f}/s over {win_span:.2f} s")
    for name, group in (("winners", wins), ("losers", losses)):
        sent = [o.done - o.sent for o in group]
        due = [o.done - o.due for o in group]
        print(
            f"{name} ({len(group)}): from send p50 {pct(sent, 50):.1f} ms, p99 {pct(sent, 99):.1f} ms, "
            f"max {pct(sent, 100):.1f} ms; from due time p50 {pct(due, 50):.1f} ms, p99 {pct(due, 99):.1f} ms"
        )
    fives = sum(n for c, n in codes.items() if c >= 500)
    print(f"5xx: {fives}; oms check findings: {findings}")
    if out:
        mean_wait = statistics.mean(o.sent - o.due for o in out) * 1000
        print(f"mean client-side wait for a free connection: {mean_wait:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--buyers", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--deadline", type=float, default=30.0, help="stop retrying 429s after this many seconds")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to the database the service uses")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    key = asyncio.run(seed(args.units))
    stats = asyncio.run(run(args.url, key, args.buyers, args.seconds, args.connections, args.deadline))
    sold, holds, findings = asyncio.run(verify())
    report(stats, args.units, sold, holds, findings)


if __name__ == "__main__":
    main()
