"""Pure rules of integrations: webhook signatures, the retry schedule, coalescing keys.

Signature (documented for receivers, see README "Webhooks"): header
`OMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. A receiver
recomputes the HMAC over the timestamp, a dot and the exact body bytes, compares in constant
time, and rejects timestamps older than a few minutes (replays). `OMS-Event-Id` lets it drop
duplicates: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import timedelta
from typing import Any

SIGNATURE_HEADER = "OMS-Signature"
# Backoff after attempt n (1-based): 10 s, 30 s, 1.5 min, ... capped at 2 h; the sum passes
# one day (25 h) before attempt 19, after which the delivery is parked as failed.
MAX_ATTEMPTS = 19
_FIRST = timedelta(seconds=10)
_CAP = timedelta(hours=2)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does; used by our tests and offered as the reference implementation."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected, header)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed tries."""
    factor: int = 3 ** min(max(attempts - 1, 0), 8)  # 3**8 x 10 s is past the cap already
    return min(_FIRST * factor, _CAP)


def total_retry_window() -> timedelta:
    return sum((backoff(n) for n in range(1, MAX_ATTEMPTS)), timedelta(0))


def coalesce_key(event_type: str, payload: dict[str, Any]) -> str | None:
    """Stock changes of one SKU at one location collapse into their newest state."""
    if event_type == "stock.changed" and "sku" in payload and "location" in payload:
        return f"{payload['sku']}@{payload['location']}"
    return None


def wants(event_types: list[str], event_type: str) -> bool:
    return "*" in event_types or event_type in event_types


# Every event type the service records (`outbox.record` / `event_row` across the domains):
# the one list subscriptions are checked against. tests/unit/integration/test_event_types.py
# reads the source for every type recorded and fails when one is missing here.
_FULFILLMENT_STATUSES = (
    "awaiting_transfer",
    "created",
    "accepted",
    "assigned",
    "picked",
    "packed",
    "shipped",
    "delivered",
    "ready_for_pickup",
    "collected",
    "expired",
    "rejected",
    "cancelled",
)
EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(
        {
            "cart.expired",
            "catalog.product_created",
            "catalog.product_updated",
            "customer.created",
            "customer.merged",
            "customer.updated",
            "order.cancelled",
            "order.completed",
            "order.hold_added",
            "order.hold_lifted",
            "order.lines_collected",
            "order.lines_delivered",
            "order.lines_shipped",
            "order.placed",
            "order.released",
            "price.scheduled",
            "reservation.consumed",
            "reservation.created",
            "reservation.released",
            "return.authorized",
            "return.closed",
            "return.exchanged",
            "return.received",
            "return.refunded",
            "return.rejected",
            "return.requested",
            "sourcing.rules_changed",
            "stock.changed",
            "transfer.dispatched",
            "transfer.received",
            "fulfillment.pickup_locked",
            "fulfillment.pickup_ready",
            "fulfillment.reduced",
            "fulfillment.order_lines_shipped",
            "fulfillment.order_lines_collected",
            "fulfillment.order_lines_cancelled",
            *(f"fulfillment.{status}" for status in _FULFILLMENT_STATUSES),
        }
    )
)


def unknown_event_types(event_types: list[str]) -> list[str]:
    return sorted({t for t in event_types if t != "*" and t not in EVENT_TYPES})


# Hosts that name a cloud's instance metadata service whatever they resolve to.
_METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


def refused_host(host: str) -> str | None:
    """Why a host name may not receive webhooks (before resolving it), or None."""
    name = host.lower().rstrip(".")
    if name in _METADATA_HOSTS:
        return "cloud metadata host"
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback address"
    return None


def refused_address(address: str) -> str | None:
    """Why an IP address may not receive webhooks, or None: only public unicast addresses may
    (no loopback, private, shared, link-local, multicast, reserved or metadata addresses)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES:
        return "cloud metadata address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "private or reserved address"
    return None
