"""The event feed and webhooks through HTTP, delivered to a real local HTTP receiver."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock, outbox
from app.integration import rules, service
from tests.conftest import Api


class Receiver:
    """A webhook receiver on loopback that fails the first `fail_first` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(({k: v for k, v in self.headers.items()}, body))
                status = 500 if len(receiver.received) <= receiver.fail_first else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, object]]:
        return [msgspec.json.decode(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


async def _record(maker: async_sessionmaker[AsyncSession], type_: str, payload: dict[str, object]) -> uuid.UUID:
    async with maker() as session:
        event_id = await outbox.record(session, type_, aggregate_type="test", aggregate_id="1", payload=payload)
        await session.commit()
    return event_id


async def test_feed_serves_events_in_order_with_a_cursor(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    ids = [await _record(committed, "order.placed", {"n": i}) for i in range(3)]
    await _record(committed, "stock.changed", {"sku": "A", "location": "S"})
    integration = committed_api.as_("integration")
    first = await integration.get("/v1/events", params={"limit": 2, "types": "order.placed"})
    assert first.status_code == 200, first.text
    page1 = first.json()
    second = (
        await integration.get("/v1/events", params={"after": page1["next_cursor"], "types": "order.placed"})
    ).json()
    seen = [e["event_id"] for e in page1["items"] + second["items"]]
    assert seen == [str(i) for i in ids]
    assert all(e["type"] == "order.placed" and e["schema_version"] == 1 for e in page1["items"] + second["items"])
    tail = (await integration.get("/v1/events", params={"after": second["next_cursor"]})).json()
    assert [e["type"] for e in tail["items"]] == ["stock.changed"]


async def test_feed_never_shows_an_event_behind_a_held_cursor(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    """A slow transaction that wrote first commits last: the feed waits for it rather than
    serving the later one and skipping it."""
    integration = committed_api.as_("integration")
    async with committed() as slow:
        slow_id = await outbox.record(slow, "order.placed", aggregate_type="t", aggregate_id="slow", payload={})
        await slow.flush()
        fast_id = await _record(committed, "order.placed", {"fast": True})
        held = (await integration.get("/v1/events")).json()
        assert held["items"] == []  # the fast event waits behind the running slow transaction
        await slow.commit()
    page = await integration.get("/v1/events", params={"after": held["next_cursor"]} if held["next_cursor"] else {})
    assert [e["event_id"] for e in page.json()["items"]] == [str(slow_id), str(fast_id)]


async def test_feed_is_for_integrations_only(api: Api) -> None:
    assert (await api.as_("storefront").get("/v1/events")).status_code == 403
    assert (await api.as_("pos").get("/v1/events")).status_code == 403
    assert (await api.as_("admin").get("/v1/events")).status_code == 200
    bad = await api.as_("integration").get("/v1/events", params={"after": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_webhook_delivery_is_signed_coalesced_and_retried(
    api: Api, db: AsyncSession, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    receiver = Receiver(fail_first=1)
    try:
        created = await api.as_("integration").post(
            "/v1/webhooks", json={"url": receiver.url, "event_types": ["stock.changed", "order.placed"]}
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = bytes.fromhex(hook["secret"])
        stock_events = [
            await _record(db_maker, "stock.changed", {"sku": "A", "location": "S1", "on_hand": n}) for n in (5, 4, 3)
        ]
        order_event = await _record(db_maker, "order.placed", {"order": "X"})
        await _record(db_maker, "customer.created", {"id": "c"})  # not subscribed
        async with db_maker() as session:
            for event_id in (*stock_events, order_event):
                await service.fan_out(session, event_id)
            await session.commit()
        async with httpx.AsyncClient(timeout=5) as client, db_maker() as session:
            assert await service.deliver_due(session, client) == 2
            await session.commit()
        assert len(receiver.received) == 2  # the first failed (500), the second was delivered
        clock.advance(timedelta(seconds=11))
        async with httpx.AsyncClient(timeout=5) as client, db_maker() as session:
            assert await service.deliver_due(session, client) == 1
            await session.commit()
        delivered = receiver.events()
        types = sorted(str(e["type"]) for e in delivered[1:])
        assert types == ["order.placed", "stock.changed"]
        stock = next(e for e in delivered if e["type"] == "stock.changed")
        assert stock["event_id"] == str(stock_events[-1])  # only the newest state of A@S1 went out
        headers, body = receiver.received[-1]
        assert rules.verify(secret, headers["OMS-Signature"], body, now=int(time.time()))
        listing = (await api.as_("integration").get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
        assert sorted(d["status"] for d in listing["items"]) == ["delivered", "delivered"]
        assert max(d["attempts"] for d in listing["items"]) == 2
    finally:
        receiver.server.shutdown()


async def test_parked_delivery_can_be_replayed(api: Api, db_maker: async_sessionmaker[AsyncSession]) -> None:
    receiver = Receiver(fail_first=10_000)
    try:
        hook = (
            await api.as_("integration").post("/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]})
        ).json()
        event_id = await _record(db_maker, "order.cancelled", {"order": "Y"})
        async with db_maker() as session:
            await service.fan_out(session, event_id)
            await session.commit()
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(rules.MAX_ATTEMPTS):
                async with db_maker() as session:
                    await service.deliver_due(session, client)
                    await session.commit()
                clock.advance(timedelta(hours=3))
        failed = (
            await api.as_("integration").get(f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "failed"})
        ).json()["items"]
        assert len(failed) == 1 and failed[0]["attempts"] == rules.MAX_ATTEMPTS
        replayed = await api.as_("integration").post(f"/v1/webhooks/{hook['id']}/deliveries/{failed[0]['id']}/replay")
        assert replayed.status_code == 202
        assert replayed.json()["status"] == "pending" and replayed.json()["attempts"] == 0
    finally:
        receiver.server.shutdown()


async def test_bad_webhook_input_is_rejected_and_writes_nothing(api: Api, db: AsyncSession) -> None:
    integration = api.as_("integration")
    for body in (
        {"url": "ftp://example.com/x", "event_types": ["order.placed"]},
        {"url": "https://example.com/x", "event_types": []},
        {"url": "https://example.com/x", "event_types": ["order.placed"], "extra": 1},
        {"url": "https://example.com/x", "event_types": ["NOT A TYPE"]},
    ):
        response = await integration.post("/v1/webhooks", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await integration.get("/v1/webhooks")).json() == []
    assert (
        await api.as_("storefront").post("/v1/webhooks", json={"url": "https://example.com/x", "event_types": ["*"]})
    ).status_code == 403
