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
