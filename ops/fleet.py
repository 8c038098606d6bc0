"""The service as a fleet, under faults: 3 API processes and 2 Dramatiq workers on loopback,
a mixed workload from many concurrent clients, and the faults of a bad day, then the books.

    .venv/bin/python ops/fleet.py --short                              # ~80 s, what CI runs
    .venv/bin/python ops/fleet.py --duration 300 --redis-outage 60     # the long run (README)

It starts its OWN PostgreSQL (the `pgserver` package's binaries, in a temp dir, on a free
port; as root they run as the `pgserver` system user) and its OWN Redis (`redis-server`,
no persistence), so stopping them disturbs no other test run. Then: `oms migrate`, a small
retailer (hot SKUs with little stock, cold SKUs with plenty, two warehouses and a store,
prices, API keys), 3 x `oms serve` on 3 ports (no load balancer: clients round-robin),
`oms worker --processes 2`, and a webhook receiver in this process subscribed to every
event (POST /v1/webhooks), which checks signatures and records event ids.

Workload: shoppers place orders of the same hot SKUs (Idempotency-Key on every order) and
cancel some; pickers at each warehouse take pick lists, confirm, pack, ship, and report the
carrier's delivery; a store takes some delivered orders back (immediate returns, restocked).
A client that gets no answer retries the same Idempotency-Key on another process (the
contract); a 503 is retried after its Retry-After.

Faults, in order: SIGKILL one API process (restarted after a few seconds); SIGKILL a worker
process while webhook deliveries are in flight; Redis stopped for --redis-outage seconds
and started again (empty) on the same port; PostgreSQL stopped (`pg_ctl stop -m fast`) for
--pg-outage seconds and started again.

Invariants checked at the end: `oms check` clean; no oversell of the hot SKUs; one order
per Idempotency-Key; every acknowledged order present, whole (lines, tenders, fulfillment
orders) and with its reservation; no 500; during the PostgreSQL outage only 503 problem
documents with Retry-After, and every API process serving again afterwards; orders taken
while Redis was down; every outbox event published and delivered to the receiver at least
once (a `stock.changed` event may be coalesced into a newer one of its SKU and location),
and applied once. Prints a summary table; exits 1 if an invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

HOT = [f"FLEET-HOT-{i}" for i in range(1, 5)]
COLD = [f"FLEET-COLD-{i}" for i in range(1, 9)]
PRICE = 2500
WAREHOUSES = {"WH-FLEET-A": (48.8566, 2.3522), "WH-FLEET-B": (45.7640, 4.8357)}
STORE = "STORE-FLEET"
HOT_STOCK = {"WH-FLEET-A": 25, "WH-FLEET-B": 15}
COLD_STOCK = 1_000_000
ADDRESS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
ADDRESS |= {"latitude": 48.8566, "longitude": 2.3522}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def since(t0: float) -> float:
    return time.monotonic() - t0


# ---- private servers ---------------------------------------------------------------------------


class PrivatePostgres:
    """A throwaway cluster from the `pgserver` wheel's binaries, on loopback TCP."""

    def __init__(self, root: Path) -> None:
        import pgserver  # the binaries ship inside the package

        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.data = root / "pg"
        self.log = root / "pg.log"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, 0o055)
            ensure_folder_permissions(self.bin.parent / "lib", 0o044)
            root.chmod(0o755)
        self.data.mkdir()
        self.log.touch()
        if self.user:
            shutil.chown(self.data, self.user, self.user)
            shutil.chown(self.log, self.user, self.user)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, timeout=timeout, user=self.user
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -c max_connections=200 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.root / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(["redis-server", *args, "--dir", str(self.root)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.proc = None


# ---- the webhook receiver -------------------------------------------------------------------------


@dataclass
class Receiver:
    """An integration's endpoint: verifies the signature, applies each event id once."""

    secret: bytes = b""
    delay: float = 0.0  # seconds each delivery is held open (to catch a worker mid-job)
    received: Counter[str] = field(default_factory=Counter)
    applied: dict[str, str] = field(default_factory=dict)  # event id -> type, first delivery only
    pickup_codes: dict[str, str] = field(default_factory=dict)
    bad_signatures: int = 0
    inflight: dict[str, int] = field(default_factory=dict)  # event id -> the sender's TCP port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        from app.integration.rules import verify

        if not verify(self.secret, headers.get("oms-signature", ""), body, int(time.time())):
            self.bad_signatures += 1
            await _answer(send, 401)
            return
        event_id = headers.get("oms-event-id", "")
        self.received[event_id] += 1
        if event_id not in self.applied:  # dedupe on the event id: at least once in, once applied
            self.applied[event_id] = headers.get("oms-event-type", "")
        self.inflight[event_id] = int(scope["client"][1]) if scope.get("client") else 0
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.inflight.pop(event_id, None)
        await _answer(send, 200)


async def _answer(send: Any, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


# ---- clients ----------------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)  # by operation
    outcomes: Counter[str] = field(default_factory=Counter)  # "op status code"
    errors: Counter[str] = field(default_factory=Counter)  # by kind
    five_hundreds: list[str] = field(default_factory=list)
    bad_503: list[str] = field(default_factory=list)  # 503 without Retry-After or not a problem document
    during_pg: Counter[str] = field(default_factory=Counter)
    served_after: dict[int, float] = field(default_factory=dict)  # port -> first 2xx after the PG restart
    other_ports_5xx_after_kill: int = 0


class Fleetclient:
    """Round-robin over the API processes; the retry contract of a well-behaved client."""

    def __init__(self, ports: list[int], tally: Tally, clock0: float) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        timeout = httpx.Timeout(20.0, connect=2.0)
        self.ports = ports
        self.clients = {
            p: httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", limits=limits, timeout=timeout) for p in ports
        }
        self.turn = itertools.count()
        self.tally = tally
        self.t0 = clock0
        self.pg_window: tuple[float, float] | None = None  # (down, up) seconds since t0
        self.pg_up_at: float | None = None
        self.killed: tuple[int, float] | None = None  # (port, at)
        self.give_up_at = float("inf")

    async def close(self) -> None:
        for c in self.clients.values():
            await c.aclose()

    async def call(
        self,
        op: str,
        method: str,
        path: str,
        key: str,
        body: Any = None,
        idempotency_key: str | None = None,
        retry_lost: bool = True,
    ) -> httpx.Response | None:
        """The answer, or None if the request could not be completed before giving up.
        `retry_lost`: a request that got no answer is sent again (to another process) — always
        safe with an Idempotency-Key; for transitions a repeat answers 409 at worst."""
        headers = {"Authorization": f"Bearer {key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        while True:
            port = self.ports[next(self.turn) % len(self.ports)]
            self.tally.requests[op] += 1
            sent_at = since(self.t0)
            try:
                r = await self.clients[port].request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                self.tally.errors[f"no answer ({type(exc).__name__}): retried on another process"] += 1
                if not retry_lost or since(self.t0) > self.give_up_at:
                    self.tally.errors["no answer: given up"] += 1
                    return None
                await asyncio.sleep(0.05)
                continue
            self._note(op, port, sent_at, r)
            if r.status_code == 503 or (r.status_code == 409 and _code(r) == "idempotency_in_progress"):
                if since(self.t0) > self.give_up_at:
                    self.tally.errors["503 until the end: given up"] += 1
                    return None
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1") or 1), 2.0) * random.uniform(0.5, 1))
                continue
            return r

    def _note(self, op: str, port: int, sent_at: float, r: httpx.Response) -> None:
        code = _code(r)
        self.tally.outcomes[f"{op} {r.status_code} {code or ''}".strip()] += 1
        now = since(self.t0)
        if r.status_code >= 500:
            kind = f"{r.status_code} {code}"
            if r.status_code == 503:
                self.tally.errors[f"503 {code}: retried after Retry-After"] += 1
                if "retry-after" not in r.headers or not r.headers.get("content-type", "").startswith(
                    "application/problem+json"
                ):
                    self.tally.bad_503.append(f"{op} {r.headers.get('content-type')} {r.text[:200]}")
            else:
                self.tally.errors[kind] += 1
                self.tally.five_hundreds.append(f"t={now:.1f}s {op} port {port}: {r.text[:300]}")
            if self.killed and port != self.killed[0] and 0 <= sent_at - self.killed[1] <= 5:
                self.tally.other_ports_5xx_after_kill += 1
        if self.pg_window and self.pg_window[0] <= sent_at and (self.pg_up_at is None or sent_at <= self.pg_up_at):
            self.tally.during_pg[f"{r.status_code} {code or ''}".strip()] += 1
        if self.pg_up_at is not None and sent_at > self.pg_up_at and r.status_code < 300:
            self.tally.served_after.setdefault(port, now - self.pg_up_at)


def _code(r: httpx.Response) -> str | None:
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        with contextlib.suppress(ValueError):
            return str(r.json().get("code"))
    return None


# ---- the fleet ----------------------------------------------------------------------------------------


@dataclass
class Keys:
    storefront: str
    app: str
    contact_center: str
    logistics: dict[str, str]
    pos: str
    integration: str
    admin: str


@dataclass
class Books:
    """What the clients were told: the source of truth for 'acknowledged'."""

    acked: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> order id (2xx)
    acked_twice: list[str] = field(default_factory=list)  # a key answered with two different orders
    cancelled: set[str] = field(default_factory=set)
    sold_out: int = 0
    delivered: list[str] = field(default_factory=list)  # order ids the carrier delivered
    returned: int = 0
    shipped: int = 0
    picked_lists: int = 0
    acked_while_redis_down: int = 0


class Fleet:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(tempfile.mkdtemp(prefix="oms-fleet-"))
        self.pg = PrivatePostgres(self.root)
        self.redis = PrivateRedis(self.root)
        self.api_ports = [free_port() for _ in range(3)]
        self.apis: dict[int, subprocess.Popen[bytes]] = {}
        self.worker: subprocess.Popen[bytes] | None = None
        self.receiver = Receiver()
        self.receiver_port = free_port()
        self.tally = Tally()
        self.books = Books()
        self.faults: list[tuple[str, str]] = []
        self.invariants: list[tuple[str, bool, str]] = []
        self.t0 = time.monotonic()
        self.redis_down = False

    # -- processes

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "DATABASE_URL", "REDIS_URL"))}
        env.update(
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url,
            OMS_DATA_DIR=str(self.root / "data"),
            OMS_SECRET_KEY=self.secret_key,
            OMS_LOG_LEVEL="WARNING",
            OMS_DB_POOL_TIMEOUT="2",
            OMS_BROKER_HEARTBEAT_TIMEOUT_MS="8000",
            OMS_BROKER_MAINTENANCE_CHANCE="100000",
            OMS_WEBHOOKS_ALLOW_PRIVATE="true",  # the receiver listens on 127.0.0.1
            PYTHONUNBUFFERED="1",
        )
        return env

    secret_key = secrets.token_hex(32)

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=log,
            start_new_session=True,  # our own process group: cleanup ends exactly what we started
        )

    def start_api(self, port: int) -> None:
        self.apis[port] = self.spawn(f"api-{port}", "serve", "--port", str(port))

    def wait_ready(self, ports: list[int], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = set(ports)
        while pending and time.monotonic() < deadline:
            for port in list(pending):
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                        pending.discard(port)
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"API processes on {sorted(pending)} did not become ready; logs in {self.root}")

    def worker_children(self) -> list[psutil.Process]:
        """The Dramatiq worker processes: children of the `dramatiq` master under `oms worker`."""
        if self.worker is None:
            return []
        found = []
        for master in psutil.Process(self.worker.pid).children():
            with contextlib.suppress(psutil.Error):
                if "dramatiq" in " ".join(master.cmdline()):
                    found += master.children()
        return found

    def busy_worker(self) -> tuple[psutil.Process, set[str]] | None:
        """A worker process with webhook deliveries open at the receiver, and their event ids."""
        by_port: dict[int, set[str]] = {}
        for event_id, port in list(self.receiver.inflight.items()):
            by_port.setdefault(port, set()).add(event_id)
        for child in self.worker_children():
            with contextlib.suppress(psutil.Error):
                mine = set().union(
                    *(
                        by_port.get(c.laddr.port, set())
                        for c in child.net_connections(kind="tcp")
                        if c.raddr and c.raddr.port == self.receiver_port
                    )
                )
                if mine:
                    return child, mine
        return None

    def boot(self) -> None:
        started = time.monotonic()
        self.pg.init()
        self.pg.start()
        self.redis.start()
        subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=self.env(), check=True, capture_output=True
        )
        os.environ.update({k: v for k, v in self.env().items() if k.startswith(("OMS_", "DATABASE", "REDIS"))})
        self.keys = asyncio.run(seed())
        for port in self.api_ports:
            self.start_api(port)
        self.worker = self.spawn("worker", "worker", "--processes", "2", "--threads", "4")
        self.wait_ready(self.api_ports)
        self.boot_seconds = time.monotonic() - started

    def shutdown(self) -> None:
        procs = [*self.apis.values(), *([self.worker] if self.worker else [])]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        self.redis.stop()
        with contextlib.suppress(Exception):
            self.pg.stop("immediate")

    # -- workload

    async def run(self) -> None:
        import uvicorn

        class QuietServer(uvicorn.Server):
            def capture_signals(self) -> Any:  # Ctrl-C stops the fleet (and cleans up), not just the receiver
                return contextlib.nullcontext()

        server = QuietServer(
            uvicorn.Config(self.receiver, host="127.0.0.1", port=self.receiver_port, log_level="error", lifespan="off")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
            await asyncio.sleep(0.05)
        self.client = Fleetclient(self.api_ports, self.tally, self.t0)
        await self.subscribe()
        self.t0 = self.client.t0 = time.monotonic()
        self.until = self.schedule_end()
        self.client.give_up_at = self.until + 60
        tasks = [asyncio.create_task(self.shopper(n)) for n in range(self.args.clients)]
        tasks += [asyncio.create_task(self.picker(code)) for code in WAREHOUSES]
        tasks += [asyncio.create_task(self.returner())]
        await self.inject_faults()
        await asyncio.gather(*tasks)
        self.load_seconds = since(self.t0)
        await self.drain()
        await self.client.close()
        server.should_exit = True
        await serving

    async def subscribe(self) -> None:
        # The seed's own events go out before anyone subscribed: wait for the relay to publish
        # them, and expect at the receiver only what comes after.
        for _ in range(100):
            if await count_unpublished() == 0:
                break
            await asyncio.sleep(0.2)
        self.baseline = int(await scalar("SELECT coalesce(max(id), 0) FROM outbox_events"))
        r = await self.client.call(
            "webhook",
            "POST",
            "/v1/webhooks",
            self.keys.integration,
            {"url": f"http://127.0.0.1:{self.receiver_port}/hook", "event_types": ["*"]},
            idempotency_key="fleet-webhook",
        )
        assert r is not None and r.status_code == 201, r.text if r else "no answer"
        self.receiver.secret = bytes.fromhex(r.json()["secret"])

    def schedule_end(self) -> float:
        d = self.args.duration
        self.at = {"api": 0.1 * d, "worker": 0.2 * d, "redis": 0.3 * d}
        self.at["pg"] = self.at["redis"] + self.args.redis_outage + max(3.0, 0.05 * d)
        return max(d, self.at["pg"] + self.args.pg_outage + 6)

    def running(self) -> bool:
        return since(self.t0) < self.until

    async def shopper(self, n: int) -> None:
        keys = [self.keys.storefront, self.keys.app, self.keys.contact_center]
        rng = random.Random(n)
        i = 0
        while self.running():
            i += 1
            lines: dict[str, int] = {}
            if rng.random() < 0.7:
                lines[rng.choice(HOT)] = rng.choice([1, 1, 2])
            for sku in rng.sample(COLD, rng.choice([1, 1, 2])):
                lines[sku] = rng.choice([1, 2])
            total = PRICE * sum(lines.values())
            body = {
                "lines": [{"sku": s, "quantity": q} for s, q in lines.items()],
                "fulfillment": {"method": "delivery", "address": ADDRESS},
                "tenders": [{"kind": "card", "amount": total, "card_token": "tok_visa"}],
            }
            key = f"fleet-{n}-{i}-{uuid.uuid4().hex[:8]}"
            shopper_key = keys[i % len(keys)]
            redis_down_at_start = self.redis_down
            r = await self.client.call("place order", "POST", "/v1/orders", shopper_key, body, idempotency_key=key)
            if r is None:
                continue
            if r.status_code == 201:
                order_id = r.json()["id"]
                known = self.books.acked.setdefault(key, order_id)
                if known != order_id:
                    self.books.acked_twice.append(key)
                if redis_down_at_start and self.redis_down:
                    self.books.acked_while_redis_down += 1
                # The retry contract itself: the same key again answers the same order.
                if rng.random() < 0.05:
                    again = await self.client.call(
                        "place order (repeat)", "POST", "/v1/orders", shopper_key, body, idempotency_key=key
                    )
                    if again is not None and again.status_code == 201 and again.json()["id"] != order_id:
                        self.books.acked_twice.append(key)
                if rng.random() < 0.15:
                    c = await self.client.call(
                        "cancel order",
                        "POST",
                        f"/v1/orders/{order_id}/cancel",
                        shopper_key,
                        {"reason": "changed my mind"},
                    )
                    if c is not None and c.status_code == 200:
                        self.books.cancelled.add(order_id)
            elif _code(r) == "insufficient_stock":
                self.books.sold_out += 1
            await asyncio.sleep(rng.uniform(0, 0.05))

    async def picker(self, location: str) -> None:
        key = self.keys.logistics[location]
        while self.running():
            # Not resent when lost: a repeat would take the next list and orphan the first.
            r = await self.client.call("pick list", "POST", "/v1/pick-lists", key, {}, retry_lost=False)
            if r is None or r.status_code != 201:
                await asyncio.sleep(0.3)
                continue
            pick = r.json()
            found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick["lines"]]
            c = await self.client.call(
                "confirm pick", "POST", f"/v1/pick-lists/{pick['id']}/confirm", key, {"lines": found}
            )
            if c is None or c.status_code != 200:
                continue
            self.books.picked_lists += 1
            for fo_id in pick["fulfillment_order_ids"]:
                await self.ship(key, fo_id)

    async def ship(self, key: str, fo_id: str) -> None:
        tracking = f"FL{uuid.UUID(fo_id).hex[:16].upper()}"
        packed = await self.client.call(
            "pack",
            "POST",
            f"/v1/fulfillment-orders/{fo_id}/pack",
            key,
            {"parcels": [{"carrier": "fleetpost", "tracking_number": tracking}]},
        )
        if packed is None or packed.status_code != 200:
            return
        shipped = await self.client.call("ship", "POST", f"/v1/fulfillment-orders/{fo_id}/ship", key)
        if shipped is None or shipped.status_code != 200:
            return
        self.books.shipped += 1
        event = {"carrier": "fleetpost", "event_id": f"dlv-{fo_id}", "tracking_number": tracking, "status": "delivered"}
        d = await self.client.call("carrier event", "POST", "/v1/carrier-events", self.keys.integration, event)
        if d is not None and d.status_code == 200:
            self.books.delivered.append(packed.json()["order_id"])

    async def returner(self) -> None:
        rng = random.Random(99)
        taken = 0
        while self.running():
            if taken >= len(self.books.delivered):
                await asyncio.sleep(0.3)
                continue
            order_id = self.books.delivered[taken]
            taken += 1
            if rng.random() > 0.4:
                continue
            got = await self.client.call("read order", "GET", f"/v1/orders/{order_id}", self.keys.admin)
            if got is None or got.status_code != 200 or got.json()["status"] != "completed":
                continue
            line = got.json()["lines"][0]
            body = {
                "order_id": order_id,
                "mode": "immediate",
                "reason": "does not fit",
                "lines": [{"line_no": line["line_no"], "quantity": 1, "disposition": "restock"}],
            }
            r = await self.client.call(
                "return", "POST", "/v1/returns", self.keys.pos, body, idempotency_key=f"ret-{order_id}"
            )
            if r is not None and r.status_code == 201:
                self.books.returned += 1

    # -- faults

    async def at_time(self, t: float) -> None:
        await asyncio.sleep(max(0.0, t - since(self.t0)))

    async def inject_faults(self) -> None:
        await self.at_time(self.at["api"])
        await self.kill_api()
        await self.at_time(self.at["worker"])
        await self.kill_worker()
        await self.at_time(self.at["redis"])
        await self.redis_outage()
        await self.at_time(self.at["pg"])
        await self.pg_outage()

    async def kill_api(self) -> None:
        port = self.api_ports[0]
        before = sum(v for k, v in self.tally.errors.items() if k.startswith("no answer"))
        self.apis[port].send_signal(signal.SIGKILL)  # `oms serve --workers 1` serves in this very process
        self.client.killed = (port, since(self.t0))
        await asyncio.sleep(3)
        self.start_api(port)
        await asyncio.to_thread(self.wait_ready, [port])
        after = sum(v for k, v in self.tally.errors.items() if k.startswith("no answer"))
        self.faults.append(
            (
                f"SIGKILL API process :{port} at {self.client.killed[1]:.1f}s",
                f"{after - before} requests got no answer and were retried on the others; restarted after 3 s",
            )
        )

    async def kill_worker(self) -> None:
        self.receiver.delay = 0.3  # hold deliveries open so the kill lands mid-job
        deadline = time.monotonic() + 10
        busy = self.busy_worker()
        while busy is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            busy = self.busy_worker()
        children = self.worker_children()
        if not children:
            self.faults.append(("SIGKILL worker", "no Dramatiq worker process found"))
            return
        victim, inflight = busy or (children[0], set())
        at = since(self.t0)
        victim.send_signal(signal.SIGKILL)
        await asyncio.sleep(0.5)
        self.receiver.delay = 0.0
        self.killed_mid_job = inflight
        self.faults.append(
            (
                f"SIGKILL worker pid {victim.pid} at {at:.1f}s",
                f"{len(inflight)} webhook deliveries in flight; `oms worker` restarted Dramatiq",
            )
        )

    async def redis_outage(self) -> None:
        at = since(self.t0)
        acked_before = len(self.books.acked)
        await asyncio.to_thread(self.redis.stop)
        self.redis_down = True
        await asyncio.sleep(self.args.redis_outage)
        waiting = await count_unpublished()
        self.redis_down = False
        await asyncio.to_thread(self.redis.start)
        self.faults.append(
            (
                f"Redis stopped at {at:.1f}s for {self.args.redis_outage:.0f}s (restarted empty)",
                f"{len(self.books.acked) - acked_before} orders taken meanwhile; {waiting} events waited in the outbox",
            )
        )
        self.redis_waiting = waiting

    async def pg_outage(self) -> None:
        down = since(self.t0)
        self.client.pg_window = (down, float("inf"))
        await asyncio.to_thread(self.pg.stop, "fast")
        await asyncio.sleep(self.args.pg_outage)
        await asyncio.to_thread(self.pg.start)
        up = since(self.t0)
        self.client.pg_window = (down, up)
        self.client.pg_up_at = up
        self.pg_times = (down, up)

    # -- after the load

    async def drain(self) -> None:
        """Wait (bounded) until the relay published everything and every delivery went out."""
        deadline = time.monotonic() + self.args.drain
        while time.monotonic() < deadline:
            unpublished, pending = await outbox_backlog()
            if unpublished == 0 and pending == 0 and await self.missing_events() == []:
                break
            await asyncio.sleep(0.5)
        self.drain_seconds = since(self.t0) - self.load_seconds

    async def missing_events(self) -> list[str]:
        from app.integration.rules import coalesce_key

        events = [e for e in await all_events() if e[0] > self.baseline]
        newest_delivered: dict[str, int] = {}
        for seq, event_id, type_, payload in events:
            key = coalesce_key(type_, payload)
            if key and event_id in self.receiver.applied:
                newest_delivered[key] = max(newest_delivered.get(key, 0), seq)
        missing = []
        for seq, event_id, type_, payload in events:
            if event_id in self.receiver.applied:
                continue
            key = coalesce_key(type_, payload)
            if key and newest_delivered.get(key, 0) > seq:
                continue  # coalesced: a newer state of the same SKU and location went out
            missing.append(f"{type_} {event_id}")
        self.event_count = len(events)
        self.coalesced = sum(
            1
            for seq, event_id, type_, payload in events
            if event_id not in self.receiver.applied and coalesce_key(type_, payload)
        )
        return missing

    async def verify(self) -> None:
        check = self.invariants.append
        findings = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "app.cli", "check"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        check(("oms check clean", findings.returncode == 0, (findings.stdout + findings.stderr).strip()[-300:]))
        db = await database_facts(list(self.books.acked.values()))
        oversold = {sku: v for sku, v in db["hot"].items() if v["sold"] > v["received"]}
        detail = ", ".join(f"{s}: sold {v['sold']} of {v['received']}" for s, v in sorted(db["hot"].items()))
        check(("no oversell (hot SKUs: units ordered - cancelled <= units received)", not oversold, detail))
        check(
            (
                "one order per Idempotency-Key",
                not self.books.acked_twice and db["orders_sharing_payment_key"] == 0,
                f"{len(self.books.acked)} keys acknowledged; {len(self.books.acked_twice)} answered twice differently",
            )
        )
        check(
            (
                "every acknowledged order present",
                not db["acked_missing"],
                f"{len(self.books.acked)} acknowledged, missing: {db['acked_missing'][:5]}",
            )
        )
        check(
            (
                "no order half-written (lines, tenders, fulfillment orders, reservation)",
                not db["half_written"],
                f"{db['orders']} orders in the database; problems: {db['half_written'][:5]}",
            )
        )
        check(
            (
                "open orders hold exactly their reservation",
                not db["reservation_mismatch"],
                f"mismatches: {db['reservation_mismatch'][:5]}",
            )
        )
        check(
            (
                "no order the clients were not told about",
                db["unacknowledged"] == 0,
                f"{db['unacknowledged']} orders in the database with no 2xx answer to their key",
            )
        )
        check(("no 500 anywhere", not self.tally.five_hundreds, "; ".join(self.tally.five_hundreds[:3])))
        check(
            (
                "API kill: clients of the other processes saw no error",
                self.tally.other_ports_5xx_after_kill == 0,
                f"{self.tally.other_ports_5xx_after_kill} 5xx from the others in the 5 s after the kill",
            )
        )
        pg = dict(self.tally.during_pg)
        non_503 = {k: v for k, v in pg.items() if k.startswith("5") and not k.startswith("503")}
        check(
            (
                "PostgreSQL outage: 503 problem documents with Retry-After, never 500",
                not non_503 and not self.tally.bad_503 and any(k.startswith("503") for k in pg),
                f"answers during the outage: {pg}; malformed 503s: {len(self.tally.bad_503)}",
            )
        )
        served = self.tally.served_after
        check(
            (
                "PostgreSQL restart: every API process serves again without a restart",
                set(served) == set(self.api_ports),
                ", ".join(f":{p} after {s:.1f}s" for p, s in sorted(served.items())) or "none served",
            )
        )
        check(
            (
                "Redis outage: orders still taken, events waited in the outbox",
                self.books.acked_while_redis_down > 0 and getattr(self, "redis_waiting", 0) > 0,
                f"{self.books.acked_while_redis_down} orders acknowledged while Redis was down",
            )
        )
        unpublished, pending = await outbox_backlog()
        missing = await self.missing_events()
        check(
            (
                "every outbox event published and delivered to the receiver at least once",
                unpublished == 0 and pending == 0 and not missing,
                f"{self.event_count} events, {unpublished} unpublished, {pending} deliveries pending, "
                f"{len(missing)} never received {missing[:3]}; {self.coalesced} stock.changed coalesced",
            )
        )
        duplicates = sum(n - 1 for n in self.receiver.received.values() if n > 1)
        check(
            (
                "each event applied once by the receiver (dedupe on OMS-Event-Id), signatures valid",
                self.receiver.bad_signatures == 0 and len(self.receiver.applied) == len(self.receiver.received),
                f"{sum(self.receiver.received.values())} deliveries received, {len(self.receiver.applied)} applied, "
                f"{duplicates} duplicates dropped, {self.receiver.bad_signatures} bad signatures",
            )
        )
        killed = getattr(self, "killed_mid_job", set())
        redelivered = [e for e in killed if self.receiver.received[e] > 1]
        check(
            (
                "worker killed mid-job: its deliveries went out again, effect once",
                all(e in self.receiver.applied for e in killed) and db["deliveries_per_event_max"] <= 1,
                f"{len(killed)} in flight at the kill, {len(redelivered)} delivered again (redelivered job or the "
                f"sweep), at most {db['deliveries_per_event_max']} delivery row per event",
            )
        )

    def report(self) -> bool:
        t = self.tally
        ok = all(passed for _, passed, _ in self.invariants)
        lines = ["", "== Fleet run", f"3 API processes, `oms worker --processes 2`, {self.args.clients} shoppers"]
        lines.append(
            f"boot {self.boot_seconds:.0f}s, load {self.load_seconds:.0f}s, drain {self.drain_seconds:.1f}s, "
            f"logs in {self.root}"
        )
        lines += ["", "requests                              count"]
        for op, n in sorted(t.requests.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {op:<36}{n:>6}")
        lines.append(f"  {'total':<36}{sum(t.requests.values()):>6}")
        b = self.books
        lines.append(
            f"  orders acknowledged {len(b.acked)}, cancelled {len(b.cancelled)}, refused sold out {b.sold_out}, "
            f"pick lists {b.picked_lists}, shipped {b.shipped}, delivered {len(b.delivered)}, returned {b.returned}"
        )
        lines += ["", "answers (operation, status, problem code)"]
        for outcome, n in sorted(t.outcomes.items()):
            lines.append(f"  {outcome:<60}{n:>6}")
        lines += ["", "errors by kind                        count"]
        for kind, n in sorted(t.errors.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {kind:<60}{n:>6}")
        if not t.errors:
            lines.append("  none")
        lines += ["", "faults injected"]
        for what, effect in self.faults:
            lines.append(f"  {what}: {effect}")
        if hasattr(self, "pg_times"):
            down, up = self.pg_times
            lines.append(
                f"  PostgreSQL stopped at {down:.1f}s, started at {up:.1f}s: answers meanwhile {dict(t.during_pg)}"
            )
        failed: Counter[str] = Counter()
        with contextlib.suppress(OSError), (self.root / "worker.log").open(errors="replace") as log:
            for line in log:
                if "Failed to process message" in line:
                    failed[line.split("Failed to process message ", 1)[1].split("(", 1)[0]] += 1
        lines.append(
            "  worker jobs that raised (retried or swept): "
            + (", ".join(f"{actor} x{n}" for actor, n in failed.most_common()) or "none")
        )
        lines += ["", "invariants"]
        for name, passed, detail in self.invariants:
            lines.append(f"  [{'PASS' if passed else 'FAIL'}] {name}")
            if detail:
                lines.append(f"         {detail}")
        lines.append("")
        lines.append("RESULT: " + ("all invariants hold" if ok else "INVARIANT FAILED"))
        print("\n".join(lines), flush=True)
        return ok


# ---- database side (this process talks to the private PostgreSQL directly) ----------------------------


async def with_session(work: Callable[[Any], Awaitable[Any]]) -> Any:
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.settings import reload_settings

    engine = create_engine(reload_settings())
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def seed() -> Keys:
    from app.catalog import service as catalog
    from app.catalog.rules import CatalogRow
    from app.core.auth import Channel, Role, create_key
    from app.inventory import service as inventory
    from app.inventory.schemas import LocationCreate
    from app.pricing import service as pricing
    from app.pricing.schemas import PriceCreate

    async def work(session: Any) -> Keys:
        rows = [
            CatalogRow(product_code="FLEET-HOT", product_name="Hot sneaker", sku=sku, size=sku[-1], returnable=True)
            for sku in HOT
        ] + [
            CatalogRow(product_code="FLEET-COLD", product_name="Plain tee", sku=sku, size=sku[-1], returnable=True)
            for sku in COLD
        ]
        report = await catalog.upsert_catalog(session, rows)
        assert not report.errors, report.errors
        for code, (lat, lon) in WAREHOUSES.items():
            await inventory.create_location(
                session,
                LocationCreate(
                    code=code,
                    name=code,
                    kind="warehouse",
                    latitude=lat,
                    longitude=lon,
                    time_zone="Europe/Paris",
                    daily_capacity=1_000_000,
                ),
            )
        await inventory.create_location(
            session,
            LocationCreate(
                code=STORE, name=STORE, kind="store", latitude=48.86, longitude=2.34, time_zone="Europe/Paris"
            ),
        )
        for sku in HOT + COLD:
            await pricing.set_price(session, PriceCreate(sku=sku, currency="EUR", amount=PRICE))
            for code in WAREHOUSES:
                units = HOT_STOCK[code] if sku in HOT else COLD_STOCK
                await inventory.adjust(session, sku=sku, location_code=code, delta=units, reason="receipt")

        async def key(role: Role, **kw: Any) -> str:
            return (await create_key(session, role=role, name=f"fleet {role}", **kw))[1]

        return Keys(
            storefront=await key(Role.STOREFRONT, channel=Channel.WEB),
            app=await key(Role.STOREFRONT, channel=Channel.APP),
            contact_center=await key(Role.CONTACT_CENTER),
            logistics={code: await key(Role.LOGISTICS, location_code=code) for code in WAREHOUSES},
            pos=await key(Role.POS, location_code=STORE),
            integration=await key(Role.INTEGRATION),
            admin=await key(Role.ADMIN),
        )

    result: Keys = await with_session(work)
    return result


async def scalar(sql: str, **params: Any) -> Any:
    from sqlalchemy import text

    async def work(session: Any) -> Any:
        return await session.scalar(text(sql), params)

    return await with_session(work)


async def count_unpublished() -> int:
    try:
        return int(await scalar("SELECT count(*) FROM outbox_events WHERE published_at IS NULL"))
    except Exception:
        return -1


async def outbox_backlog() -> tuple[int, int]:
    from sqlalchemy import text

    async def work(session: Any) -> tuple[int, int]:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM outbox_events WHERE published_at IS NULL),"
                    " (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered')"
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    try:
        result: tuple[int, int] = await with_session(work)
        return result
    except Exception:
        return -1, -1


async def all_events() -> list[tuple[int, str, str, dict[str, Any]]]:
    from sqlalchemy import text

    async def work(session: Any) -> list[tuple[int, str, str, dict[str, Any]]]:
        rows = await session.execute(text("SELECT id, event_id::text, type, payload FROM outbox_events ORDER BY id"))
        return [(int(r[0]), str(r[1]), str(r[2]), dict(r[3])) for r in rows]

    try:
        result: list[tuple[int, str, str, dict[str, Any]]] = await with_session(work)
        return result
    except Exception:
        return []


async def database_facts(acked_ids: list[str]) -> dict[str, Any]:
    from sqlalchemy import text

    async def work(session: Any) -> dict[str, Any]:
        async def rows(sql: str, **params: Any) -> list[Any]:
            return list((await session.execute(text(sql), params)).all())

        hot = {}
        for sku, sold, received in await rows(
            """SELECT v.sku,
                 (SELECT coalesce(sum(l.quantity - l.cancelled_quantity), 0) FROM order_lines l WHERE l.sku = v.sku),
                 (SELECT coalesce(sum(m.delta), 0) FROM stock_movements m WHERE m.sku = v.sku AND m.delta > 0)
               FROM variants v WHERE v.sku = ANY(:skus)""",
            skus=HOT,
        ):
            hot[sku] = {"sold": int(sold), "received": int(received)}
        present = {
            str(r[0]) for r in await rows("SELECT id FROM orders WHERE id = ANY(CAST(:ids AS uuid[]))", ids=acked_ids)
        }
        half = [
            f"{r[0]}: {r[1]}"
            for r in await rows(
                """SELECT o.number, concat_ws(' ',
                       CASE WHEN NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id) THEN 'no lines' END,
                       CASE WHEN NOT EXISTS (SELECT 1 FROM order_tenders t WHERE t.order_id = o.id)
                            THEN 'no tenders' END,
                       CASE WHEN NOT EXISTS (SELECT 1 FROM fulfillment_orders f WHERE f.order_id = o.id)
                            THEN 'no fulfillment orders' END,
                       CASE WHEN NOT EXISTS (SELECT 1 FROM reservations r WHERE r.reference = o.reservation_ref)
                            THEN 'no reservation' END)
                   FROM orders o"""
            )
            if r[1]
        ]
        mismatch = [
            f"{r[0]} ({r[1]}): open lines {r[2]}, reserved {r[3]}"
            for r in await rows(
                """SELECT o.number, o.status,
                       (SELECT coalesce(sum(l.quantity - l.cancelled_quantity - l.fulfilled_quantity), 0)
                          FROM order_lines l WHERE l.order_id = o.id),
                       (SELECT coalesce(sum(rl.quantity - rl.released_qty - rl.consumed_qty), 0)
                          FROM reservations r JOIN reservation_lines rl ON rl.reservation_id = r.id
                         WHERE r.reference = o.reservation_ref)
                   FROM orders o"""
            )
            if int(r[2]) != int(r[3])
        ]
        orders = int((await rows("SELECT count(*) FROM orders"))[0][0])
        sharing = int((await rows("SELECT count(*) - count(DISTINCT payment_key) FROM orders"))[0][0])
        per_event = (
            await rows(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM webhook_deliveries GROUP BY event_id) x"
            )
        )[0][0]
        return {
            "hot": hot,
            "acked_missing": sorted(set(acked_ids) - present),
            "half_written": half,
            "reservation_mismatch": mismatch,
            "orders": orders,
            "unacknowledged": orders - len(present),
            "orders_sharing_payment_key": sharing,
            "deliveries_per_event_max": int(per_event),
        }

    result: dict[str, Any] = await with_session(work)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (stretched to fit the faults)")
    parser.add_argument("--redis-outage", type=float, default=60, help="seconds Redis stays down")
    parser.add_argument("--pg-outage", type=float, default=8, help="seconds PostgreSQL stays down")
    parser.add_argument("--clients", type=int, default=16, help="concurrent shoppers")
    parser.add_argument("--drain", type=float, default=90, help="at most this many seconds to deliver the backlog")
    parser.add_argument("--short", action="store_true", help="the CI run: 30 s of load, Redis down 8 s, PostgreSQL 4 s")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data) even on success")
    args = parser.parse_args()
    if args.short:
        args.duration, args.redis_outage, args.pg_outage, args.clients, args.drain = 30, 8, 4, 10, 60
    fleet = Fleet(args)
    ok = False
    try:
        fleet.boot()
        asyncio.run(fleet.run())
        asyncio.run(fleet.verify())
        ok = fleet.report()
    finally:
        fleet.shutdown()
        if ok and not args.keep:
            shutil.rmtree(fleet.root, ignore_errors=True)
        else:
            print(f"logs and data kept in {fleet.root}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
