"""Order placement over HTTP: 3-line orders, one card tender (`test` gateway), home delivery,
N concurrent clients against a real `oms serve`, then `pgbench -N` on the same PostgreSQL
for scale.

Builds a scratch database (`oms_bench_orders`) on the server of DATABASE_URL, migrates it,
seeds 50 priced SKUs with deep warehouse stock (WH-1, WH-2) and a storefront key, starts
`oms serve` (--workers W) on a free port, runs the clients for --seconds, prints orders/s,
latency percentiles, status counts, where the box's CPU went during the load (API processes,
this load generator, the rest: PostgreSQL and whatever else runs), what the database
connections were waiting on (pg_stat_activity sampled every 50 ms), the load average, then
pgbench's TPS (scratch database `oms_bench_pgbench`) and orders/s as a fraction of it. It
asserts nothing: figures go to ops/bench/RESULTS.md.

Each client is one keep-alive HTTP/1.1 connection spoken by hand (`KeepAlive`), not httpx:
on a 2-core box every millisecond the load generator spends is taken from the API under test.

Small catalog (the 50 SKUs only):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python ops/bench/orders_place.py --clients 32 --seconds 30 --workers 2

Large catalog (--large-catalog): after the same seed, 100,000 more products of 5 sizes each
(SKUs `BIG-000001-1`..., one price each) are bulk-loaded with set-based SQL, each size stocked
at WH-1 and WH-2 (the locations of the small run): 1,000,100 stock_levels rows, each with its `receipt`
ledger row (on_hand = ledger sum, so `oms check` stays clean). The orders still name only the
50 BENCH SKUs; the question is whether a big catalog slows placement (issue: ≥ 90 % of the
small-catalog orders/s). Prints the seeding time and the row counts:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python ops/bench/orders_place.py --clients 32 --seconds 30 --workers 2 --large-catalog

--order-from-catalog (with --large-catalog): each order takes 3 random SKUs of the 100,000
instead of the 50 hot ones — index look-ups over cold rows, and no hot stock rows to queue on.

--skip-pgbench leaves out the pgbench phase (quick runs); --keep-db keeps `oms_bench_orders`
for inspection (e.g. `DATABASE_URL=<printed url> .venv/bin/oms check`); drop it yourself after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.pricing.models import DEFAULT_ZONE  # noqa: E402
from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = "oms_bench_orders"
PGBENCH_DB = "oms_bench_pgbench"
SKUS = 50
# --large-catalog: 100,000 products of 5 sizes each (a price per size), every size stocked at
# WH-1 and WH-2: 1,000,000 stock rows. The locations stay those of the small catalog, so the
# two runs differ only by the size of the catalog and of the stock table.
BIG_PRODUCTS = 100_000
BIG_SIZES = 5
OBSERVER = "orders_place observer"


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


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def observer(url: str) -> asyncpg.Connection:
    """A connection of this script, named so that it is not counted as the API's."""
    return await asyncpg.connect(asyncpg_dsn(url), server_settings={"application_name": OBSERVER})


# Set-based, in one transaction: 100,000 + 3 × 500,000 + 2 × 1,000,000 rows one by one through the
# services would take an hour. The rows are what the services would write, minus the outbox
# events: a million unpublished `stock.changed` events would load the relay, not the catalog.
LARGE_CATALOG_SQL: tuple[tuple[str, tuple[object, ...]], ...] = (
    (
        """INSERT INTO products (id, code, name, description, brand, created_at, updated_at)
           SELECT gen_random_uuid(), 'BIG-' || lpad(n::text, 6, '0'), 'Catalog product ' || n, '', 'Acme',
                  now(), now()
             FROM generate_series(1, $1::int) n""",
        (BIG_PRODUCTS,),
    ),
    (
        """INSERT INTO variants (sku, product_id, created_at, updated_at)
           SELECT p.code || '-' || size, p.id, now(), now()
             FROM products p CROSS JOIN generate_series(1, $1::int) size
            WHERE p.code LIKE 'BIG-%' ORDER BY 1""",
        (BIG_SIZES,),
    ),
    (
        """INSERT INTO prices (id, sku, zone_code, currency, amount, valid_from)
           SELECT gen_random_uuid(), sku, $1, 'EUR', 500 + (hashtext(sku) & 4095), now()
             FROM variants WHERE sku LIKE 'BIG-%'""",
        (DEFAULT_ZONE,),
    ),
    # every BIG SKU at both warehouses, in primary-key order so the b-trees fill sequentially
    (
        """INSERT INTO stock_levels (sku, location_code, on_hand, reserved, updated_at)
           SELECT v.sku, l.code, 1 + (hashtext(v.sku || l.code) & 255), 0, now()
             FROM variants v CROSS JOIN locations l WHERE v.sku LIKE 'BIG-%' ORDER BY v.sku, l.code""",
        (),
    ),
    # one receipt per stock row: on_hand equals the ledger sum, as `oms check` demands
    (
        """INSERT INTO stock_movements (sku, location_code, delta, on_hand_after, reason, reference,
                                        effective_at, recorded_at)
           SELECT sku, location_code, on_hand, on_hand, 'receipt', 'bench-large-catalog', now(), now()
             FROM stock_levels WHERE sku LIKE 'BIG-%' ORDER BY sku, location_code""",
        (),
    ),
)
SEEDED_TABLES = ("products", "variants", "prices", "locations", "stock_levels", "stock_movements")
COUNTS_SQL = """SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM variants) AS variants,
       (SELECT count(*) FROM prices) AS prices, (SELECT count(*) FROM locations) AS locations,
       (SELECT count(*) FROM stock_levels) AS stock_levels, (SELECT count(*) FROM stock_movements) AS ledger"""


async def catalog_prices(url: str) -> dict[str, int]:
    """The large catalog's prices (sku -> amount), for orders that roam the whole catalog."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT sku, amount FROM prices WHERE sku LIKE 'BIG-%'")
    finally:
        await conn.close()
    return {row["sku"]: row["amount"] for row in rows}


async def seed_large_catalog(url: str) -> None:
    """Bulk-load the large catalog next to the BENCH SKUs, then vacuum and analyze it."""
    started = time.monotonic()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            for sql, args in LARGE_CATALOG_SQL:
                await conn.execute(sql, *args)
        loaded = time.monotonic()
        # VACUUM (not only ANALYZE): the planner gets statistics, and autovacuum has no
        # million fresh rows left to process in the middle of the measured load; CHECKPOINT
        # writes the load's dirty pages now rather than during the measured load. Only the
        # tables this seed filled: analyzing the still-empty order tables would record them
        # as empty, and every connection would plan its foreign-key checks against them as
        # sequential scans until autovacuum analyzes them again (a minute or more) — it made
        # the first version of this mode look 14 % slower than the small catalog.
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(SEEDED_TABLES)}")
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):  # needs superuser or pg_checkpoint
            await conn.execute("CHECKPOINT")
        counts = dict(await conn.fetchrow(COUNTS_SQL))  # type: ignore[arg-type]
    finally:
        await conn.close()
    done = time.monotonic()
    print(
        f"large catalog seeded in {done - started:.1f} s "
        f"(inserts {loaded - started:.1f} s, vacuum, analyze, checkpoint {done - loaded:.1f} s): "
        + ", ".join(f"{k}={v:,}" for k, v in counts.items())
    )


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


async def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the bench database: the
    database's share of "the rest of the box", apart from other work on the same server.
    Empty when PostgreSQL runs on another host (its pids mean nothing here)."""
    if make_url(url).host not in ("127.0.0.1", "localhost", "::1"):
        return {}
    conn = await observer(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name <> $1", OBSERVER
        )
    finally:
        await conn.close()
    return {r["pid"]: cpu_seconds([r["pid"]]) for r in rows}


async def sample_waits(url: str, stop: asyncio.Event) -> Counter[str]:
    """What the API's connections to the bench database are doing, every 50 ms."""
    waits: Counter[str] = Counter()
    conn = await observer(url)
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name <> $1 AND backend_type = 'client backend'",
                OBSERVER,
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


class KeepAlive:
    """One keep-alive HTTP/1.1 connection, just enough to send a request and read the whole
    response: a fraction of httpx's CPU per request (see the module docstring)."""

    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: bytes) -> int:
        """The response's status. The server may close a kept-alive connection at any time
        (idle timeout, restart): then once more on a new one, safe since every order request
        has its own Idempotency-Key."""
        reused = self.stream is not None
        try:
            return await self._exchange(request)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
        return await self._exchange(request)

    async def _exchange(self, request: bytes) -> int:
        async with asyncio.timeout(self.timeout):
            if self.stream is None:
                self.stream = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.stream
            writer.write(request)
            await writer.drain()
            status, keep_alive = await read_response(reader)
        if not keep_alive:
            self.close()
        return status

    def close(self) -> None:
        if self.stream is not None:
            self.stream[1].close()
            self.stream = None


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response to its last byte: its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].split(b"\r\n")
    version, code = status_line.split(b" ", 2)[:2]
    headers: dict[bytes, bytes] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    status = int(code)
    keep_alive = version == b"HTTP/1.1" and headers.get(b"connection") != b"close"
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        await read_chunked(reader)
    elif b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif status >= 200 and status not in (204, 304):
        await reader.read()  # neither length nor chunks: the body ends when the server closes
        keep_alive = False
    return status, keep_alive


async def read_chunked(reader: asyncio.StreamReader) -> None:
    while size := int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16):
        await reader.readexactly(size + 2)  # the chunk and its CRLF
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, up to the blank line
        pass


async def load(
    base: str,
    key: str,
    price: dict[str, int],
    clients: int,
    seconds: float,
    server_pid: int,
    db_url: str,
    run: str = "bench",
) -> float:
    """Run the clients, print the figures and return orders/s. `run` prefixes the requests'
    Idempotency-Keys: several runs on one database must not replay each other's orders."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    skus = list(price)
    deadline = time.monotonic() + seconds
    address = {"line1": "1 Bench Street", "city": "Munich", "postal_code": "80331", "country": "DE"}
    host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80
    head = (
        f"POST /v1/orders HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
    ).encode()

    async def client(n: int) -> None:
        connection = KeepAlive(host, port)
        i = 0
        try:
            while time.monotonic() < deadline:
                i += 1
                lines = random.sample(skus, 3)
                body = msgspec.json.encode(
                    {
                        "lines": [{"sku": sku, "quantity": 1} for sku in lines],
                        "fulfillment": {"method": "delivery", "address": address},
                        "tenders": [{"kind": "card", "amount": sum(price[s] for s in lines), "card_token": "tok_visa"}],
                    }
                )
                request = (
                    head + f"Idempotency-Key: {run}-{n}-{i}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                )
                started = time.perf_counter()
                status = await connection.send(request)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1
        finally:
            connection.close()

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_waits(db_url, stop))
    db_before = await backend_cpu(db_url)
    api_cpu, own_cpu, box_cpu = cpu_seconds([server_pid]), time.process_time(), box_busy_seconds()
    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    api_cpu, own_cpu = cpu_seconds([server_pid]) - api_cpu, time.process_time() - own_cpu
    box_cpu = box_busy_seconds() - box_cpu
    # backends that ended during the load are missing: the API's pooled ones live throughout
    db_cpu = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in (await backend_cpu(db_url)).items())
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
        f"rest of the box (PostgreSQL, others) {(box_cpu - api_cpu - own_cpu) * per:.2f} ms"
        f"{f' (bench database backends {db_cpu * per:.2f} ms)' if db_cpu else ''}; "
        f"box busy {100 * box_cpu / (elapsed * (os.cpu_count() or 1)):.0f}% of {os.cpu_count()} cores"
    )
    samples = sum(waits.values()) or 1
    busy = ", ".join(f"{k} {100 * v / samples:.0f}%" for k, v in waits.most_common(8))
    print(f"API connections (pg_stat_activity samples): {busy}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return ok / elapsed


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
    parser.add_argument("--large-catalog", action="store_true", help="add 100,000 products and 1,000,000 stock rows")
    parser.add_argument(
        "--order-from-catalog",
        action="store_true",
        help="with --large-catalog: each order takes 3 random SKUs of the 100,000 (cold rows, no hot spot)",
    )
    parser.add_argument("--skip-pgbench", action="store_true", help="leave out the pgbench phase")
    parser.add_argument("--keep-db", action="store_true", help=f"do not drop {DB_NAME} at the end")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    url = recreate_database(base, DB_NAME)
    os.environ["DATABASE_URL"] = url
    server = None
    try:
        command.upgrade(alembic_config(url), "head")
        skus, key = asyncio.run(seed())
        if args.large_catalog:
            asyncio.run(seed_large_catalog(url))
        port = free_port()
        server = start_server(url, port, args.workers)
        base_url = f"http://127.0.0.1:{port}"
        price = asyncio.run(prices(base_url, key, skus))
        if args.order_from_catalog:
            price = asyncio.run(catalog_prices(url))
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        if os.environ.get("BENCH_PYSPY"):  # e.g. "--rate 200 -o /tmp/api.txt -f raw": profile the API
            subprocess.Popen(  # ends by itself after --duration
                [
                    shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
                    or "py-spy",
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
        ops = asyncio.run(load(base_url, key, price, args.clients, args.seconds, server.pid, url))
        server.terminate()
        server.wait(timeout=30)
        server = None
        if not args.skip_pgbench:
            tps = pgbench(base, args.clients, int(args.seconds))
            print(f"orders/s as a fraction of pgbench -N tps: {ops / tps:.3f}")
    finally:
        if server is not None:
            server.kill()
        if args.keep_db:
            print(f"kept {DB_NAME}: {make_url(url).render_as_string(hide_password=True)}")
        else:
            drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
