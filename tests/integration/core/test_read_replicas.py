"""Read replicas against a real primary and a real streaming standby started here.

Two PostgreSQL 15 clusters in a temporary directory (initdb; pg_basebackup -R for the standby),
on free ports, run as the `postgres` OS user when the tests run as root (initdb refuses root).
One test walks the three states: the replica serves the declared reads, falls behind (replay
paused) and goes away (stopped); the reads never fail.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command
from sqlalchemy import text

from app.core.auth import Role, create_key
from app.core.db import create_engine, create_sessionmaker
from app.main import create_app
from tests.conftest import SETTINGS
from tests.support import alembic_config

MAX_LAG_SECONDS = 2.0


def _bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "pg_basebackup").exists():
            return Path(candidate)
    found = shutil.which("pg_basebackup")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Clusters:
    bindir: Path
    root: Path
    primary_port: int
    replica_port: int

    def run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def pg_ctl(self, data: str, *args: str) -> None:
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.root / data), "-l", str(self.root / f"{data}.log"), *args)

    def url(self, port: int, driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{port}/oms"

    def sql(self, port: int, statement: str) -> object:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="oms", autocommit=True) as conn:
            row = conn.execute(statement).fetchone()
            return row[0] if row else None


@pytest.fixture(scope="module")
def clusters() -> Iterator[Clusters]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed")
    root = Path(tempfile.mkdtemp(prefix="oms-replicas-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    c = Clusters(bindir, root, _free_port(), _free_port())
    options = f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c fsync=off"
    c.run(str(bindir / "initdb"), "-D", str(root / "primary"), "-U", "postgres", "--auth=trust", "--no-sync")
    c.pg_ctl("primary", "-w", "-o", f"-p {c.primary_port} {options}", "start")
    try:
        with psycopg.connect(host="127.0.0.1", port=c.primary_port, user="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE oms")
        command.upgrade(alembic_config(c.url(c.primary_port)), "head")
        c.run(
            str(bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(c.primary_port), "-U", "postgres"),
            *("-D", str(root / "replica"), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"),
        )
        c.pg_ctl("replica", "-w", "-o", f"-p {c.replica_port} {options}", "start")
        yield c
    finally:
        for data in ("replica", "primary"):
            if (root / data / "postmaster.pid").exists():
                c.pg_ctl(data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def wait_until_replayed(c: Clusters) -> None:
    target = c.sql(c.primary_port, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if c.sql(c.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
            return
        time.sleep(0.05)
    raise AssertionError("the standby did not replay the primary's WAL within 20 s")


def product(code: str) -> dict[str, object]:
    return {"code": code, "name": "Oxford Shirt", "variants": [{"sku": f"{code}-M", "size": "M"}]}


async def test_reads_go_to_the_replica_until_it_lags_or_goes_away(clusters: Clusters) -> None:
    c = clusters
    settings = replace(
        SETTINGS,
        database_url=c.url(c.primary_port),
        # A second replica that never answers: the reads go to the one that does.
        database_replica_urls=(c.url(c.replica_port), c.url(_free_port())),
        replica_max_lag_seconds=MAX_LAG_SECONDS,
    )
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        _, key = await create_key(session, role=Role.ADMIN, name="replica test")
        await session.commit()
    await engine.dispose()
    app = create_app(settings, log=False)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://oms.test", headers=headers
    ) as http:
        try:
            # The standby is what the declared reads see: its session is in recovery.
            replicas = app.state.replicas
            picked = await replicas.pick()
            assert picked is replicas.replicas[0] and picked.lag_seconds == 0.0
            assert await replicas.pick() is picked and replicas.replicas[1].usable is False
            async with picked.sessionmaker() as session:
                assert (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar_one() is True

            # In step: a product written through the API is read back (after replay).
            first = await http.post("/v1/products", json=product("RP-1"), headers={"Idempotency-Key": "rp-1"})
            assert first.status_code == 201, first.text
            customer = await http.post("/v1/customers", json={"name": "Ada", "email": "ada@example.com"})
            assert customer.status_code == 201, customer.text
            wait_until_replayed(c)
            assert (await http.get("/v1/products/" + first.json()["id"])).status_code == 200
            # Every declared read runs in the standby's read-only transaction without error.
            customer_id = customer.json()["id"]
            reads = {
                "/v1/products": 200,
                "/v1/variants/RP-1-M": 200,
                "/v1/categories": 200,
                "/v1/locations": 200,
                "/v1/availability?skus=RP-1-M": 200,
                "/v1/customers?email=ada@example.com": 200,
                f"/v1/customers/{customer_id}": 200,
                f"/v1/customers/{customer_id}/overview": 200,
                "/v1/orders": 200,
                "/v1/orders/by-number/NOPE-1": 404,
                "/v1/reports/channels": 200,
                "/v1/reports/channels.csv?table=by_channel": 200,
            }
            answers = {url: (await http.get(url)).status_code for url in reads}
            assert answers == reads
            quote = await http.post(
                "/v1/pricing/quote", json={"currency": "EUR", "lines": [{"sku": "RP-1-M", "quantity": 1}]}
            )
            assert quote.status_code < 500, quote.text

            # Replay paused: within the bound the replica still serves, so a product written
            # since is not there yet — the proof that the read was served by the standby.
            c.sql(c.replica_port, "SELECT pg_wal_replay_pause()")
            second = await http.post("/v1/products", json=product("RP-2"), headers={"Idempotency-Key": "rp-2"})
            assert second.status_code == 201, second.text
            second_url = "/v1/products/" + second.json()["id"]
            stale = await http.get(second_url)
            assert stale.status_code == 404, stale.text
            # Beyond the bound (plus the once-a-second check), the read goes to the primary.
            await asyncio.sleep(MAX_LAG_SECONDS + 1.5)
            fresh = await http.get(second_url)
            assert fresh.status_code == 200, fresh.text
            assert replicas.replicas[0].usable is False and replicas.replicas[0].lag_seconds > MAX_LAG_SECONDS

            # Replay resumed: the replica serves again once it has caught up.
            c.sql(c.replica_port, "SELECT pg_wal_replay_resume()")
            wait_until_replayed(c)
            await asyncio.sleep(1.1)
            assert (await http.get(second_url)).status_code == 200
            assert replicas.replicas[0].usable is True

            # The replica goes away: the very next reads are served by the primary, no error.
            c.pg_ctl("replica", "-m", "immediate", "-w", "stop")
            for _ in range(3):
                gone = await http.get(second_url)
                assert gone.status_code == 200, gone.text
                listed = await http.get("/v1/products")
                assert listed.status_code == 200, listed.text
            assert replicas.replicas[0].usable is False
        finally:
            await app.state.replicas.dispose()
            await app.state.sessionmaker.kw["bind"].dispose()
