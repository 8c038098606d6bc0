"""Kill the API with SIGKILL while orders are being placed: every order a client saw succeed
exists, no order exists without its reservation, and `oms check` is clean."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import TEST_DB_URL, make_keys
from tests.factories.orders import delivery_order, make_shop
from tests.support import free_port

pytestmark = pytest.mark.slow


def _start(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "OMS_PORT": str(port), "OMS_LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


async def test_sigkill_during_placement_loses_nothing_half_done(committed: async_sessionmaker[AsyncSession]) -> None:
    async with committed() as session:
        keys = await make_keys(session)
        shop = await make_shop(session, stock=0, warehouse_stock=10_000)
        await session.commit()
    port = free_port()
    server = _start(port)
    confirmed: list[str] = []
    stop = asyncio.Event()
    enough = asyncio.Event()

    async def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {keys['storefront']}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as c:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = await c.post(
                        "/v1/orders",
                        json=delivery_order(shop.skus, 3999),
                        headers={"Idempotency-Key": f"crash-{n}-{i}"},
                    )
                except httpx.TransportError:
                    return  # the server died under us: this one's outcome is unknown
                if r.status_code == 201:
                    confirmed.append(r.json()["id"])
                    if len(confirmed) >= 30:
                        enough.set()

    async def killer() -> None:
        await enough.wait()
        os.kill(server.pid, signal.SIGKILL)
        stop.set()

    try:
        await asyncio.wait_for(asyncio.gather(killer(), *(client(n) for n in range(8))), timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)
    # uvicorn's worker is the same process here (workers=1), so SIGKILL stopped the API mid-flight.
    assert len(confirmed) >= 30
    async with committed() as session:
        found = set(
            (await session.execute(text("SELECT id::text FROM orders WHERE id::text = ANY(:ids)"), {"ids": confirmed}))
            .scalars()
            .all()
        )
        assert found == set(confirmed)
        orphans = await session.scalar(
            text(
                "SELECT count(*) FROM orders o LEFT JOIN reservations r ON r.reference = o.reservation_ref "
                "WHERE r.id IS NULL"
            )
        )
        assert orphans == 0
        total_orders = await session.scalar(text("SELECT count(*) FROM orders"))
        reserved = await session.scalar(
            text("SELECT reserved FROM stock_levels WHERE sku = :sku AND location_code = :loc"),
            {"sku": shop.skus[0], "loc": shop.warehouse},
        )
        assert reserved == total_orders
    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "check"],
        env={**os.environ, "DATABASE_URL": TEST_DB_URL},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
