"""Integrations: the ordered event feed and signed webhooks.

Public functions:
- `event_feed(session, after, types, limit) -> EventPage`
- `create_subscription(session, url, event_types, created_by) -> WebhookCreated`
- `set_enabled(session, subscription_id, enabled) -> WebhookOut`, `delete_subscription(session, subscription_id)`
- `fan_out(session, event_id) -> list[int]`: queue deliveries of one published event.
- `fan_out_batch(session, events) -> list[int]`: queue deliveries of a batch the relay is
  publishing, in the relay's transaction (registered with `outbox.subscribe_in_transaction`).
- `deliver_due(session, client, limit, only_id=None) -> int`: send due deliveries (at least once).
- `replay(session, subscription_id, delivery_id) -> DeliveryOut`
- `pending_deliveries_before(session, cutoff) -> int`: deliveries still to send of events that
  occurred before `cutoff` (`oms prune` keeps their months).

Address policy (README "Webhooks"): a receiver must be a public unicast address. The URL is
checked when subscribing (a literal IP, or every address its host resolves to) and again at
each delivery after resolving the host, and the request then goes to the checked IP itself
(Host header and TLS server name kept), so a DNS answer that changes between check and
connect (rebinding) cannot reach an internal address. Redirects are not followed.
`OMS_WEBHOOKS_ALLOW_PRIVATE=true` lifts the policy for development and tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

import httpx
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.models import OutboxEvent
from app.core.outbox import envelope
from app.core.pagination import Keyset
from app.core.settings import get_settings
from app.core.signing import derive
from app.integration import repository, rules
from app.integration.errors import (
    InvalidWebhookUrl,
    UnknownDelivery,
    UnknownEventType,
    UnknownSubscription,
    WebhookAddressRefused,
)
from app.integration.models import WebhookDelivery, WebhookSubscription
from app.integration.schemas import DeliveryOut, DeliveryPage, EventOut, EventPage, WebhookCreated, WebhookOut

EVENT_FEED = Keyset("events", int, int)
DELIVERIES = Keyset("webhook_deliveries", int)


async def event_feed(session: AsyncSession, after: str | None, types: Sequence[str] | None, limit: int) -> EventPage:
    position = EVENT_FEED.after(after)
    events = await repository.feed_page(session, (position[0], position[1]) if position else None, types, limit)
    items = [
        EventOut(
            event_id=e.event_id,
            type=e.type,
            schema_version=e.schema_version,
            aggregate_type=e.aggregate_type,
            aggregate_id=e.aggregate_id,
            occurred_at=e.occurred_at,
            payload=e.payload,
        )
        for e in events
    ]
    last = events[-1] if events else None
    return EventPage(items=items, next_cursor=EVENT_FEED.encode([last.txid, last.id]) if last else after)


def secret_for(subscription_id: uuid.UUID) -> bytes:
    return derive("webhook", str(subscription_id))


_RESOLVE_TIMEOUT = 3.0


async def resolve(host: str, port: int) -> list[str]:
    """The IP addresses `host` resolves to (a literal IP: itself); [] if it does not resolve."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=_RESOLVE_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _refusal(host: str, addresses: list[str]) -> str | None:
    if get_settings().webhooks_allow_private:
        return None
    return rules.refused_host(host) or next(
        (reason for reason in map(rules.refused_address, addresses) if reason), None
    )


async def _check_url(url: str) -> None:
    try:
        parsed = urlparse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        raise InvalidWebhookUrl("not a usable URL") from None
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise InvalidWebhookUrl("not a usable URL: use http(s)://host/path")
    # A host that does not resolve yet is accepted: every delivery checks its addresses again.
    reason = _refusal(parsed.hostname, await resolve(parsed.hostname, port))
    if reason is not None:
        raise WebhookAddressRefused(f"the URL's host is a {reason}; webhooks go to public addresses only")


def _check_event_types(event_types: list[str]) -> None:
    unknown = rules.unknown_event_types(event_types)
    if unknown:
        raise UnknownEventType(
            f"unknown event type(s): {', '.join(unknown)}", unknown=unknown, known=[*rules.EVENT_TYPES, "*"]
        )


def subscription_out(sub: WebhookSubscription, counts: dict[str, int] | None = None) -> WebhookOut:
    return WebhookOut(
        id=sub.id,
        url=sub.url,
        event_types=list(sub.event_types),
        active=sub.active,
        created_at=sub.created_at,
        deliveries=counts,
    )


async def create_subscription(
    session: AsyncSession, url: str, event_types: list[str], created_by: uuid.UUID | None
) -> WebhookCreated:
    _check_event_types(event_types)
    await _check_url(url)
    sub = WebhookSubscription(
        id=uuid.uuid4(),
        url=url,
        event_types=sorted(set(event_types)),
        active=True,
        created_by=created_by,
        created_at=clock.now(),
    )
    await repository.add_subscription(session, sub)
    return WebhookCreated(
        id=sub.id,
        url=sub.url,
        event_types=sub.event_types,
        active=True,
        created_at=sub.created_at,
        secret=secret_for(sub.id).hex(),
    )


async def get_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> WebhookOut:
    sub = await repository.get_subscription(session, subscription_id)
    if sub is None:
        raise UnknownSubscription()
    return subscription_out(sub, await repository.count_by_status(session, subscription_id))


async def list_subscriptions(session: AsyncSession) -> list[WebhookOut]:
    return [subscription_out(s) for s in await repository.list_subscriptions(session)]


async def set_enabled(session: AsyncSession, subscription_id: uuid.UUID, enabled: bool) -> WebhookOut:
    """A disabled subscription gets no new deliveries; the ones still pending are parked as
    failed when due (replayable once it is enabled again)."""
    sub = await repository.get_subscription(session, subscription_id)
    if sub is None:
        raise UnknownSubscription()
    sub.active = enabled
    await session.flush()
    return subscription_out(sub, await repository.count_by_status(session, subscription_id))


async def delete_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """The subscription and its deliveries are gone; nothing more is sent to its URL."""
    sub = await repository.get_subscription(session, subscription_id)
    if sub is None:
        raise UnknownSubscription()
    await repository.delete_subscription(session, sub)


async def fan_out(session: AsyncSession, event_id: uuid.UUID) -> list[int]:
    event = await repository.event_by_id(session, event_id)
    if event is None:
        return []
    key = rules.coalesce_key(event.type, event.payload)
    queued = []
    for sub in await repository.active_subscriptions_for(session, event.type):
        delivery_id = await repository.enqueue_delivery(session, sub.id, event, key)
        if delivery_id is not None:
            queued.append(delivery_id)
    return queued


async def fan_out_batch(session: AsyncSession, events: Sequence[OutboxEvent]) -> list[int]:
    """The deliveries of a batch of events, oldest first. Coalescing events keep only the newest
    of their key within the batch (the same outcome as queueing them one after the other)."""
    subscriptions = await repository.active_subscriptions(session)
    if not subscriptions:
        return []
    newest: dict[str, OutboxEvent] = {}
    plain: list[OutboxEvent] = []
    for event in events:
        key = rules.coalesce_key(event.type, event.payload)
        if key is None:
            plain.append(event)
        else:
            newest[key] = event
    rows: list[dict[str, object]] = [
        {"subscription_id": sub.id, "event_id": e.event_id, "event_type": e.type, "status": "pending"}
        for e in plain
        for sub in subscriptions
        if rules.wants(sub.event_types, e.type)
    ]
    queued = await repository.insert_deliveries(session, rows)
    # One statement per coalescing key and subscription, in key order: concurrent relays
    # touch the pending rows in the same order and cannot deadlock.
    for key, event in sorted(newest.items()):
        for sub in sorted(subscriptions, key=lambda s: s.id):
            if rules.wants(sub.event_types, event.type):
                delivery_id = await repository.enqueue_delivery(session, sub.id, event, key)
                if delivery_id is not None:
                    queued.append(delivery_id)
    return queued


async def deliver_due(
    session: AsyncSession, client: httpx.AsyncClient, limit: int = 50, only_id: int | None = None
) -> int:
    """Send due deliveries. The rows stay locked while their request runs, so two workers never
    send one delivery at the same time; a crash before commit means it is sent again (at least once)."""
    deliveries = await repository.claim_due(session, clock.now(), limit, only_id)
    if not deliveries:
        return 0
    events = await repository.events_by_ids(session, [d.event_id for d in deliveries])
    subs = await repository.subscriptions_by_ids(session, list({d.subscription_id for d in deliveries}))
    for delivery in deliveries:
        await _attempt(client, delivery, subs.get(delivery.subscription_id), events.get(delivery.event_id))
    await session.flush()
    return len(deliveries)


@dataclass(frozen=True)
class _Target:
    """Where one delivery connects: the URL with the checked IP in place of the host."""

    url: httpx.URL
    host_header: str
    server_name: str


async def _pinned(url: str) -> _Target | str:
    """The delivery's target pinned to an address that passed the policy, or why none did."""
    parsed = httpx.URL(url)
    host = parsed.host
    addresses = await resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    if not addresses:
        return "host does not resolve"
    if _refusal(host, addresses) is not None:
        return "address not allowed"
    host_header = parsed.netloc.decode("ascii")
    return _Target(parsed.copy_with(host=addresses[0]), host_header, host)


# Fixed texts: a receiver's answer (body, headers, error text) never reaches the API.
_TRANSPORT_ERRORS: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.TimeoutException, "timeout"),
    (httpx.ConnectError, "connection failed"),
    (httpx.HTTPError, "request failed"),
)


async def _attempt(
    client: httpx.AsyncClient, delivery: WebhookDelivery, sub: WebhookSubscription | None, event: OutboxEvent | None
) -> None:
    if sub is None or event is None:
        delivery.status, delivery.last_error = "failed", "subscription or event gone"
        return
    if not sub.active:
        delivery.status, delivery.last_error = "failed", "subscription disabled"
        return
    body = msgspec.json.encode(envelope(event))
    headers = {
        "Content-Type": "application/json",
        rules.SIGNATURE_HEADER: rules.sign(secret_for(sub.id), int(time.time()), body),
        "OMS-Event-Id": str(delivery.event_id),
        "OMS-Event-Type": delivery.event_type,
        "OMS-Delivery-Id": str(delivery.id),
    }
    delivery.attempts += 1
    target = await _pinned(sub.url)
    if isinstance(target, str):
        ok, delivery.last_status_code, delivery.last_error = False, None, target
    else:
        ok = await _post(client, delivery, target, body, headers)
    if ok:
        delivery.status, delivery.delivered_at = "delivered", clock.now()
    elif delivery.attempts >= rules.MAX_ATTEMPTS:
        delivery.status = "failed"  # parked: visible and replayable through the API
    else:
        delivery.next_attempt_at = clock.now() + rules.backoff(delivery.attempts)


async def _post(
    client: httpx.AsyncClient, delivery: WebhookDelivery, target: _Target, body: bytes, headers: dict[str, str]
) -> bool:
    try:
        response = await client.post(
            target.url,
            content=body,
            headers={**headers, "Host": target.host_header},
            extensions={"sni_hostname": target.server_name},
        )
    except httpx.HTTPError as exc:
        delivery.last_status_code = None
        delivery.last_error = next(text for kind, text in _TRANSPORT_ERRORS if isinstance(exc, kind))
        return False
    delivery.last_status_code = response.status_code
    ok = 200 <= response.status_code < 300
    delivery.last_error = None if ok else f"HTTP {response.status_code}"
    return ok


def delivery_out(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
    )


async def list_deliveries(
    session: AsyncSession, subscription_id: uuid.UUID, status: str | None, cursor: str | None, limit: int
) -> DeliveryPage:
    if await repository.get_subscription(session, subscription_id) is None:
        raise UnknownSubscription()
    position = DELIVERIES.after(cursor, scope=subscription_id)
    rows = await repository.deliveries_page(
        session, subscription_id, status, position[0] if position else None, limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(
        items=[delivery_out(d) for d in rows],
        next_cursor=DELIVERIES.encode([rows[-1].id], scope=subscription_id) if more and rows else None,
    )


async def replay(session: AsyncSession, subscription_id: uuid.UUID, delivery_id: int) -> DeliveryOut:
    delivery = await repository.get_delivery(session, subscription_id, delivery_id)
    if delivery is None:
        raise UnknownDelivery()
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, clock.now()
    delivery.last_error = None
    await session.flush()
    return delivery_out(delivery)


async def pending_deliveries_before(session: AsyncSession, cutoff: datetime) -> int:
    """How many pending deliveries are of events that occurred before `cutoff`."""
    return await repository.pending_deliveries_before(session, cutoff)
