"""A live `oms serve --demo` on a free port with its own database, Debian's Chromium driven by
Playwright, staff accounts, and helpers to place orders through the API and read the database.

Chromium comes from the distribution (`apt-get install chromium`; `.ci/run` installs it):
Playwright's own browser download is not used. Without a chromium binary the tests are
skipped with that message (a developer machine that cannot install one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app import demo
from app.console.rules import StaffRole
from app.console.service import create_staff
from app.core.db import create_sessionmaker, transaction
from app.core.settings import to_asyncpg_url
from tests.conftest import _BASE_DB, _REDIS
from tests.support import ROOT, drop_database, free_port, recreate_database

SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "Correct-Horse-42"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HANDHELD = {"width": 360, "height": 740}
HAMBURG = {"line1": "Jungfernstieg 1", "city": "Hamburg", "country": "DE", "latitude": 53.553, "longitude": 9.992}
MUNICH = {"line1": "Marienplatz 1", "city": "Munich", "country": "DE", "latitude": 48.137, "longitude": 11.575}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary: apt-get install chromium")


@dataclass
class Live:
    base: str
    keys: dict[str, str]
    log: Path
    db_url: str
    engine: AsyncEngine

    def api(self, label: str) -> httpx.Client:
        """The API with one demo key; every POST carries a fresh Idempotency-Key (creates require one)."""

        def keyed(request: httpx.Request) -> None:
            if request.method == "POST":
                request.headers.setdefault("Idempotency-Key", uuid.uuid4().hex)

        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.keys[label]}"},
            timeout=30,
            event_hooks={"request": [keyed]},
        )

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def value(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path, str]]:
    name = f"oms_browser_{os.getpid()}"
    db_url = recreate_database(_BASE_DB, name)
    data = tmp_path_factory.mktemp("console")
    port = free_port()
    log = data / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": _REDIS,
        "OMS_DATA_DIR": str(data),
        "OMS_PORT": str(port),
        "OMS_LOG_LEVEL": "INFO",
        "OMS_QUEUE_NAMESPACE": f"oms-browser-{os.getpid()}",
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the console's server never became ready"
            time.sleep(0.3)
        yield base, data, log, db_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        drop_database(_BASE_DB, name)


@pytest.fixture(scope="session")
async def live(live_server: tuple[str, Path, Path, str]) -> AsyncIterator[Live]:
    base, data, log, db_url = live_server
    engine = create_async_engine(to_asyncpg_url(db_url))
    keys = json.loads((data / "demo-keys.json").read_text())
    yield Live(base=base, keys=keys, log=log, db_url=db_url, engine=engine)
    await engine.dispose()


async def add_staff(live: Live, role: StaffRole, location: str | None = None) -> str:
    """A staff account made by the service `oms staff create` calls; returns its e-mail."""
    email = f"{role.value}.{uuid.uuid4().hex[:6]}@shop.test"
    async with transaction(create_sessionmaker(live.engine)) as session:
        await create_staff(session, email=email, role=role, password=PASSWORD, location_code=location)
    return email


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        await chromium.close()


async def signed_in(browser: Any, live: Live, email: str, *, viewport: dict[str, int] = HANDHELD) -> Any:
    """A fresh browser context (its own cookies) signed in as `email`; returns its page."""
    context = await browser.new_context(viewport=viewport, base_url=live.base)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto("/console/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/")
    return page


async def screenshot(page: Any, name: str) -> None:
    """Save the page for the README, after checking what every screen must have."""
    await assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def assert_accessible(page: Any) -> None:
    """Every visible field has a label, every button a name, the page one h1 and a language,
    and nothing is wider than the screen (a 360 px handheld scrolls only down)."""
    problems = await page.evaluate(
        """() => {
        const out = [];
        for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
            if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) out.push('unlabelled ' + el.name);
        }
        for (const b of document.querySelectorAll('button, a')) {
            const named = b.textContent.trim() || b.getAttribute('aria-label');
            if (!named) out.push('nameless ' + b.outerHTML.slice(0, 60));
        }
        const h1s = document.querySelectorAll('h1').length;
        if (h1s !== 1) out.push('h1 count ' + h1s);
        if (!document.documentElement.lang) out.push('no lang');
        if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('wider than the screen');
        return out;
    }"""
    )
    assert problems == [], problems


def catalog() -> dict[str, str]:
    """Demo SKU -> barcode."""
    return {row.sku: row.barcode for row in demo.catalog_rows() if row.barcode}


def place_order(live: Live, lines: dict[str, int], *, key: str = "storefront (web)", **how: Any) -> dict[str, Any]:
    """An order through the API, paid by card; delivered in Munich (so WH-SOUTH ships it)
    unless `how` says otherwise. WH-NORTH is the picker test's own: nothing else goes there."""
    total = sum(demo.price_of(sku) * qty for sku, qty in lines.items())
    body: dict[str, Any] = {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
        "tenders": [{"kind": "card", "amount": total, "card_token": "tok_visa"}],
        "fulfillment": {"method": "delivery", "address": MUNICH},
        **how,
    }
    with live.api(key) as api:
        r = api.post("/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return dict(r.json())
