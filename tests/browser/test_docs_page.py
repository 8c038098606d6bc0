"""The docs pages in a real Chromium: they render the operations with every request on our host.

Chromium comes from the machine (Debian's `chromium` package; `.ci/run` installs it), driven by
Playwright; nothing is downloaded. The app is served by uvicorn in a thread on a free port.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from app.main import create_app

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def docs_server() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(log=False), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the docs server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(chromium: Browser, url: str) -> tuple[Page, list[str]]:
    """The page after it settled, and every URL it asked for (documents, scripts, fonts, XHR)."""
    page = chromium.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url, wait_until="networkidle")
    return page, requested


def _foreign(requested: list[str], base: str) -> list[str]:
    own = urlsplit(base).netloc
    return [url for url in requested if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != own]


def test_scalar_page_lists_the_operations_with_no_request_off_the_host(docs_server: str, chromium: Browser) -> None:
    schema = httpx.get(f"{docs_server}/schema/openapi.json").json()
    page, requested = _open(chromium, f"{docs_server}/schema")
    # Scalar shows each operation's summary; three a storefront developer needs first.
    for path, method in (("/v1/orders", "post"), ("/v1/pricing/quote", "post"), ("/v1/variants", "get")):
        summary = schema["paths"][path][method]["summary"]
        page.get_by_text(summary, exact=False).first.wait_for(state="attached", timeout=30000)
    text = page.inner_text("body")
    assert "Omnichannel OMS" in text
    assert _foreign(requested, docs_server) == []
    assert any("/static/vendor/scalar-api-reference/standalone.js?v=1.76.4" in url for url in requested)
    page.close()


def test_swagger_page_lists_the_operations_with_no_request_off_the_host(docs_server: str, chromium: Browser) -> None:
    page, requested = _open(chromium, f"{docs_server}/schema/swagger")
    page.locator(".opblock").first.wait_for(timeout=20000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/orders" in [p.replace("\u200b", "") for p in paths]
    assert _foreign(requested, docs_server) == []
    page.close()
