"""Webhooks never reach internal addresses (at subscription and at delivery, pinned to the
checked IP), only known event types are accepted, subscriptions can be disabled and deleted,
and a receiver's answer is never echoed back."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import outbox
from app.core.settings import reload_settings
from app.integration import rules, service
from app.integration.models import WebhookDelivery, WebhookSubscription
from tests.conftest import Api

PUBLIC_IP = "93.184.216.34"


class Receiver:
    """A loopback receiver answering `status` with a body that must never leak."""

    def __init__(self, status: int = 204) -> None:
        self.requests: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(dict(self.headers.items()))
                payload = b"internal-secret-banner"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The production policy: no private addresses."""
    monkeypatch.setenv("OMS_WEBHOOKS_ALLOW_PRIVATE", "false")
    reload_settings()
    yield
    monkeypatch.setenv("OMS_WEBHOOKS_ALLOW_PRIVATE", "true")
    reload_settings()


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> None:
    """`host -> successive answers` (the last one repeats): a resolver that can rebind."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            return [host]
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(service, "resolve", resolve)


async def _deliver_one(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as session:
        event_id = await outbox.record(session, "order.placed", aggregate_type="t", aggregate_id="1", payload={})
        await session.commit()
    async with maker() as session:
        await service.fan_out(session, event_id)
        await session.commit()
    async with httpx.AsyncClient(timeout=5) as client, maker() as session:
        await service.deliver_due(session, client)
        await session.commit()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8000/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://172.16.5.5/hooks",
        "http://100.100.100.200/latest",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://[fd00:ec2::254]/latest",
        "http://224.0.0.1/hooks",
        "http://0.0.0.0/hooks",
        "http://localhost:8000/hooks",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_internal_addresses_are_refused(api: Api, db: AsyncSession, strict: None, url: str) -> None:
    response = await api.as_("integration").post("/v1/webhooks", json={"url": url, "event_types": ["order.placed"]})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "webhook_address_not_allowed"
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


async def test_a_host_resolving_to_an_internal_address_is_refused(
    api: Api, strict: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"hooks.example.net": [["10.0.0.7"]]})
    response = await api.as_("integration").post(
        "/v1/webhooks", json={"url": "https://hooks.example.net/x", "event_types": ["*"]}
    )
    assert response.status_code == 422 and response.json()["code"] == "webhook_address_not_allowed"


async def test_a_public_address_is_accepted(api: Api, strict: None) -> None:
    response = await api.as_("integration").post(
        "/v1/webhooks", json={"url": f"https://{PUBLIC_IP}/hooks", "event_types": ["order.placed"]}
    )
    assert response.status_code == 201, response.text


async def test_dns_rebinding_after_subscription_is_refused_at_delivery(
    api: Api, db_maker: async_sessionmaker[AsyncSession], strict: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host answered a public address when subscribing and 127.0.0.1 when delivering:
    nothing reaches the loopback receiver, and the delivery says only why."""
    receiver = Receiver()
    try:
        host = "rebind.example.net"
        fake_dns(monkeypatch, {host: [[PUBLIC_IP], ["127.0.0.1"]]})
        created = await api.as_("integration").post(
            "/v1/webhooks", json={"url": f"http://{host}:{receiver.port}/hooks", "event_types": ["order.placed"]}
        )
        assert created.status_code == 201, created.text
        await _deliver_one(db_maker)
        assert receiver.requests == []
        deliveries = (await api.as_("integration").get(f"/v1/webhooks/{created.json()['id']}/deliveries")).json()
        assert [d["last_error"] for d in deliveries["items"]] == ["address not allowed"]
    finally:
        receiver.server.shutdown()


async def test_delivery_connects_to_the_resolved_address_with_the_original_host(
    api: Api, db_maker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinned: the request goes to the IP the check saw, the Host header names the URL's host."""
    receiver = Receiver()
    try:
        host = "receiver.example.net"
        fake_dns(monkeypatch, {host: [["127.0.0.1"]]})
        created = await api.as_("integration").post(
            "/v1/webhooks", json={"url": f"http://{host}:{receiver.port}/hooks", "event_types": ["order.placed"]}
        )
        assert created.status_code == 201, created.text
        await _deliver_one(db_maker)
        assert [r["Host"] for r in receiver.requests] == [f"{host}:{receiver.port}"]
    finally:
        receiver.server.shutdown()


async def test_last_error_never_echoes_the_receivers_answer(
    api: Api, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    receiver = Receiver(status=500)
    try:
        created = await api.as_("integration").post(
            "/v1/webhooks",
            json={"url": f"http://127.0.0.1:{receiver.port}/hooks", "event_types": ["order.placed"]},
        )
        await _deliver_one(db_maker)
        deliveries = (await api.as_("integration").get(f"/v1/webhooks/{created.json()['id']}/deliveries")).json()
        assert [(d["last_status_code"], d["last_error"]) for d in deliveries["items"]] == [(500, "HTTP 500")]
    finally:
        receiver.server.shutdown()


async def test_unknown_event_types_are_refused_with_the_known_ones(api: Api, db: AsyncSession) -> None:
    response = await api.as_("integration").post(
        "/v1/webhooks", json={"url": f"https://{PUBLIC_IP}/h", "event_types": ["order.placed", "order.teleported"]}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "unknown_event_type"
    assert problem["extra"]["unknown"] == ["order.teleported"]
    assert "order.placed" in problem["extra"]["known"] and "*" in problem["extra"]["known"]
    assert set(problem["extra"]["known"]) == {*rules.EVENT_TYPES, "*"}
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


async def test_a_disabled_subscription_gets_nothing_and_a_deleted_one_is_gone(
    api: Api, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    receiver = Receiver()
    integration = api.as_("integration")
    try:
        hook = (
            await integration.post(
                "/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/h", "event_types": ["order.placed"]}
            )
        ).json()
        disabled = await integration.patch(f"/v1/webhooks/{hook['id']}", json={"active": False})
        assert disabled.status_code == 200 and disabled.json()["active"] is False
        await _deliver_one(db_maker)
        assert receiver.requests == []
        enabled = await integration.patch(f"/v1/webhooks/{hook['id']}", json={"active": True})
        assert enabled.json()["active"] is True
        await _deliver_one(db_maker)
        assert len(receiver.requests) == 1
        deleted = await integration.delete(f"/v1/webhooks/{hook['id']}")
        assert deleted.status_code == 204, deleted.text
        assert (await integration.get(f"/v1/webhooks/{hook['id']}")).status_code == 404
        assert (await integration.delete(f"/v1/webhooks/{hook['id']}")).status_code == 404
        async with db_maker() as session:
            assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        await _deliver_one(db_maker)
        assert len(receiver.requests) == 1
        assert (await api.as_("storefront").delete(f"/v1/webhooks/{uuid.uuid4()}")).status_code == 403
    finally:
        receiver.server.shutdown()
