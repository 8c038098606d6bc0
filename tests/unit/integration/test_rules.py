from __future__ import annotations

from datetime import timedelta

from app.integration import rules


def test_signature_verifies_and_rejects_tampering_and_replays() -> None:
    secret, body = b"s3cret", b'{"event_id":"1"}'
    header = rules.sign(secret, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert rules.verify(secret, header, body, now=1_700_000_010)
    assert not rules.verify(secret, header, body + b" ", now=1_700_000_010)
    assert not rules.verify(b"other", header, body, now=1_700_000_010)
    assert not rules.verify(secret, header, body, now=1_700_000_000 + 301)
    assert not rules.verify(secret, "garbage", body, now=1_700_000_000)


def test_retries_span_a_day_then_park() -> None:
    assert rules.backoff(1) == timedelta(seconds=10)
    assert rules.backoff(2) == timedelta(seconds=30)
    assert rules.backoff(30) == timedelta(hours=2)
    assert timedelta(days=1) <= rules.total_retry_window() < timedelta(days=2)


def test_only_stock_changes_coalesce_per_sku_and_location() -> None:
    assert rules.coalesce_key("stock.changed", {"sku": "A", "location": "S1", "on_hand": 3}) == "A@S1"
    assert rules.coalesce_key("order.placed", {"sku": "A", "location": "S1"}) is None
    assert rules.wants(["*"], "x.y") and rules.wants(["x.y"], "x.y") and not rules.wants(["x.z"], "x.y")
