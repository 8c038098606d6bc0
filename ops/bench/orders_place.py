"""Order placement over HTTP: 3-line orders, one card tender (`test` gateway), home delivery,
N concurrent clients against a real `oms serve`, then `pgbench -N` on the same PostgreSQL
for scale.

Builds a scratch database (`oms_bench_orders`) on the server of DATABASE_URL, migrates it,
seeds 50 priced SKUs with deep warehouse stock and a storefront key, starts `oms serve`
(--workers W) on a free port, runs the clients for --seconds, prints orders/s, latency
percentiles, status counts, where the box's CPU went during the load (API processes, this
load generator, the rest: PostgreSQL and whatever else runs), what the database connections
were waiting on (pg_stat_activity sampled every 50 ms), the load average, then pgbench's TPS
(scratch database `oms_bench_pgbench`) and orders/s as a fraction of it. It asserts
nothing: figures go to ops/bench/RESULTS.md.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python ops/bench/orders_place.py --clients 32 --seconds 30 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = "oms_bench_orders"
PGBENCH_DB = "oms_bench_pgbench"
SKUS = 50


async def seed() -> tuple[list[str], str]:
    from app.catalog.models import Product, Variant
    from app.core import clock
    from app.core.auth import Channel, Role, create_key
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings
    from app.inventory import service as inventory
    from app.inventory.models import Location
    from app.pricing import service as pricing
    from app.pricing.schemas import PriceCreate

    engine = create_engine(reload_settings())
    now = clock.now()
    skus = [f"BENCH-{i:04d}" for i in range(SKUS)]
    async with transaction(create_sessionmaker(engine)) as session:
        product = Product(
            code="BENCH", name="Bench product", description="", brand="Acme", created_at=now, updated_at=now
        )
        session.add(product)
        await session.flush()
        session.add_all(Variant(sku=sku, product_id=product.id, created_at=now, updated_at=now) for sku in skus)
        for code in ("WH-1", "WH-2"):
            session.add(
                Location(
                    code=code,
                    name=code,
                    kind="warehouse",
                    address="",
                    latitude=48.1,
                    longitude=11.5,
                    time_zone="Europe/Berlin",
                    ships=True,
                    pickup=False,
                    accepts_returns=False,
                    daily_capacity=1_000_000,
                    default_safety_stock=0,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.flush()
        for sku in skus:
            await pricing.set_price(session, PriceCreate(sku=sku, currency="EUR", amount=random.randint(500, 5000)))
            for code in ("WH-1", "WH-2"):
                await inventory.adjust(
                    session, sku=sku, location_code=code, delta=10_000_000, reason="receipt", reference="bench"
                )
        _, key = await create_key(session, role=Role.STOREFRONT, name="bench", channel=Channel.WEB)
    await engine.dispose()
    return skus, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "OMS_PORT": str(port), "OMS_LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.kill()
    sys.exit("the server did not start")


async def prices(base: str, key: str, skus: list[str]) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
        r = await c.post("/v1/carts", json={"lines": [{"sku": sku, "quantity": 1} for sku in skus]})
        r.raise_for_status()
        return {line["sku"]: line["unit_price"] for line in r.json()["lines"]}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children that still run (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total


def box_busy_seconds() -> float:
    """CPU seconds the whole box spent not idle (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick


async def sample_waits(url: str, stop: asyncio.Event) -> Counter[str]:
    """What the API's connections to the bench database are doing, every 50 ms."""
    import asyncpg

    waits: Counter[str] = Counter()
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            for r in rows:
                if r["state"] == "idle":
                    waits["idle (pooled, unused)"] += 1
                elif r["wait_event_type"] is None:
                    waits[f"{r['state']}: on CPU"] += 1
                else:
                    waits[f"{r['state']}: {r['wait_event_type']}/{r['wait_event']}"] += 1
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return waits


async def load(
    base: str, key: str, price: dict[str, int], clients: int, seconds: float, server_pid: int, db_url: str
) -> None:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    skus = list(price)
    deadline = time.monotonic() + seconds
    address = {"line1": "1 Bench Street", "city": "Munich", "postal_code": "80331", "country": "DE"}

    async def client(n: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as c:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                lines = random.sample(skus, 3)
                body = {
                    "lines": [{"sku": sku, "quantity": 1} for sku in lines],
                    "fulfilment": "delivery",
                    "delivery_address": address,
                    "tenders": [{"kind": "card", "amount": sum(price[s] for s in lines), "card_token": "tok_visa"}],
                }
                started = time.perf_counter()
                r = await c.post("/v1/orders", json=body, headers={"Idempotency-Key": f"bench-{n}-{i}"})
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[r.status_code] += 1

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_waits(db_url, stop))
    api_cpu, own_cpu, box_cpu = cpu_seconds([server_pid]), time.process_time(), box_busy_seconds()
    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    api_cpu, own_cpu = cpu_seconds([server_pid]) - api_cpu, time.process_time() - own_cpu
    box_cpu = box_busy_seconds() - box_cpu
    stop.set()
    waits = await sampler
    latencies.sort()
    ok = statuses.get(201, 0)
    pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]  # noqa: E731
    print(f"clients={clients} seconds={elapsed:.1f} requests={len(latencies)} statuses={dict(statuses)}")
    print(f"orders/s={ok / elapsed:.1f}  p50={pct(0.5):.1f} ms  p95={pct(0.95):.1f} ms  p99={pct(0.99):.1f} ms")
    five_xx = sum(v for k, v in statuses.items() if k >= 500)
    print(f"5xx={five_xx}")
    per = 1000 / max(len(latencies), 1)
    print(
        f"CPU per request: API processes {api_cpu * per:.2f} ms, load generator {own_cpu * per:.2f} ms, "
        f"rest of the box (PostgreSQL, others) {(box_cpu - api_cpu - own_cpu) * per:.2f} ms; "
        f"box busy {100 * box_cpu / (elapsed * (os.cpu_count() or 1)):.0f}% of {os.cpu_count()} cores"
    )
    samples = sum(waits.values()) or 1
    busy = ", ".join(f"{k} {100 * v / samples:.0f}%" for k, v in waits.most_common(8))
    print(f"API connections (pg_stat_activity samples): {busy}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    load.orders_per_second = ok / elapsed  # type: ignore[attr-defined]


def pgbench(base: str, clients: int, seconds: int) -> float:
    url = make_url(recreate_database(base, PGBENCH_DB))
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    try:
        subprocess.run(["pgbench", *args, "-i", "-s", "10", "-q", PGBENCH_DB], env=env, check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", *args, "-N", "-c", str(clients), "-j", "2", "-T", str(seconds), PGBENCH_DB],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        drop_database(base, PGBENCH_DB)
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    print(f"pgbench -N -c {clients} -j 2 -T {seconds}: tps={tps:.1f}")
    return tps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    url = recreate_database(base, DB_NAME)
    os.environ["DATABASE_URL"] = url
    server = None
    try:
        command.upgrade(alembic_config(url), "head")
        skus, key = asyncio.run(seed())
        port = free_port()
        server = start_server(url, port, args.workers)
        base_url = f"http://127.0.0.1:{port}"
        price = asyncio.run(prices(base_url, key, skus))
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        if os.environ.get("BENCH_PYSPY"):  # e.g. "--rate 200 -o /tmp/api.txt -f raw": profile the API
            subprocess.Popen(  # ends by itself after --duration
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(server.pid),
                    "--subprocesses",
                    "--duration",
                    str(int(args.seconds)),
                    *os.environ["BENCH_PYSPY"].split(),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        asyncio.run(load(base_url, key, price, args.clients, args.seconds, server.pid, url))
        server.terminate()
        server.wait(timeout=30)
        server = None
        tps = pgbench(base, args.clients, int(args.seconds))
        ops = load.orders_per_second  # type: ignore[attr-defined]
        print(f"orders/s as a fraction of pgbench -N tps: {ops / tps:.3f}")
    finally:
        if server is not None:
            server.kill()
        drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
