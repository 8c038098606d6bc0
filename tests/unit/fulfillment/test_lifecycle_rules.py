"""State machine, pick-list batching and pickup-code rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.fulfillment.rules import (
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    OpenOrder,
    PickShare,
    PickSource,
    TransitionRefused,
    aggregate_pick_lines,
    bin_sort_key,
    check_pickup_code,
    hash_pickup_code,
    new_pickup_code,
    next_status,
    select_batch,
    share_found,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# ---- state machine


@pytest.mark.parametrize(
    ("type", "path"),
    [
        ("delivery", ["accept", "assign", "pick", "pack", "ship", "deliver"]),
        ("delivery", ["assign", "pick", "pack", "ship", "deliver"]),
        ("pickup", ["assign", "pick", "ready", "collect"]),
        ("pickup", ["assign", "pick", "ready", "expire"]),
        ("ship_to_store", ["assign", "pick", "pack", "ship", "deliver"]),
    ],
)
def test_happy_paths(type: str, path: list[str]) -> None:
    status = "created"
    for action in path:
        status = next_status(status, action, type)
    assert status in TERMINAL


def test_pickup_waiting_for_a_transfer_opens_when_it_arrives() -> None:
    assert next_status("awaiting_transfer", "transfer_arrived", "pickup") == "created"
    with pytest.raises(TransitionRefused):
        next_status("awaiting_transfer", "assign", "pickup")


@pytest.mark.parametrize(
    ("status", "action", "type"),
    [
        ("picked", "pack", "pickup"),  # pickups are never packed
        ("picked", "ready", "delivery"),  # parcels are never "ready for pickup"
        ("created", "ship", "delivery"),  # no skipping the pick
        ("shipped", "cancel", "delivery"),  # gone is gone
        ("collected", "collect", "pickup"),  # single use
        ("expired", "collect", "pickup"),
        ("created", "reject", "pickup"),  # only ship-from-store parcels are rejected
        ("picked", "reject", "delivery"),
        ("delivered", "deliver", "delivery"),
    ],
)
def test_refused_transitions(status: str, action: str, type: str) -> None:
    with pytest.raises(TransitionRefused) as info:
        next_status(status, action, type)
    assert (info.value.status, info.value.action) == (status, action)


def test_every_transition_names_known_statuses_and_terminals_have_no_exit() -> None:
    for edges in TRANSITIONS.values():
        for src, dst in edges.items():
            assert src in STATUSES and dst in STATUSES
            assert src not in TERMINAL


# ---- pick-list batching


def order(id: str, minutes_old: int, *, units: int = 1, type: str = "delivery", **kw: datetime) -> OpenOrder:
    return OpenOrder(id=id, type=type, created_at=NOW - timedelta(minutes=minutes_old), units=units, **kw)


def ids(batch: list[OpenOrder]) -> list[str]:
    return [o.id for o in batch]


def batch(orders: list[OpenOrder], max_orders: int = 10, max_units: int = 100) -> list[OpenOrder]:
    return select_batch(orders, NOW, max_orders=max_orders, max_units=max_units, window=timedelta(hours=2))


def test_oldest_promise_first_then_oldest_order() -> None:
    orders = [
        order("late-promise", 300, promised_at=NOW + timedelta(days=3)),
        order("early-promise", 10, promised_at=NOW + timedelta(hours=5)),
        order("no-promise-old", 500),
        order("no-promise-new", 5),
    ]
    assert ids(batch(orders)) == ["early-promise", "late-promise", "no-promise-old", "no-promise-new"]


def test_pickups_with_a_near_slot_jump_the_queue_but_far_ones_do_not() -> None:
    orders = [
        order("parcel", 300, promised_at=NOW + timedelta(hours=1)),
        order("pickup-near", 1, type="pickup", pickup_slot_at=NOW + timedelta(minutes=90)),
        order("pickup-far", 2, type="pickup", pickup_slot_at=NOW + timedelta(hours=8)),
    ]
    assert ids(batch(orders)) == ["pickup-near", "parcel", "pickup-far"]


def test_batch_is_capped_by_orders_and_units() -> None:
    orders = [order(f"o{i}", 100 - i, units=3) for i in range(10)]
    assert ids(batch(orders, max_orders=4)) == ["o0", "o1", "o2", "o3"]
    assert ids(batch(orders, max_units=7)) == ["o0", "o1"]
    # An order bigger than the unit cap still gets a walk of its own.
    assert ids(batch([order("huge", 1, units=500), order("small", 0)], max_units=100)) == ["huge"]
    # A big order that does not fit is passed over for smaller ones behind it.
    mixed = [order("a", 9, units=60), order("b", 8, units=60), order("c", 7, units=30)]
    assert ids(batch(mixed, max_units=100)) == ["a", "c"]
    assert batch([]) == []


def test_lines_are_aggregated_by_sku_and_walk_in_bin_order() -> None:
    sources = [
        PickSource("fo1", "l1", "SHIRT-M", 1),
        PickSource("fo1", "l2", "SOCKS", 2),
        PickSource("fo2", "l3", "SHIRT-M", 2),
        PickSource("fo2", "l4", "HAT", 1),
        PickSource("fo3", "l5", "NOBIN", 1),
    ]
    bins = {"SHIRT-M": "A-02-10", "SOCKS": "A-02-9", "HAT": "B-01-01"}
    lines = aggregate_pick_lines(sources, bins)
    assert [(ln.sku, ln.bin, ln.quantity) for ln in lines] == [
        ("SOCKS", "A-02-9", 2),
        ("SHIRT-M", "A-02-10", 3),
        ("HAT", "B-01-01", 1),
        ("NOBIN", None, 1),
    ]
    assert lines[1].shares == [PickShare("fo1", "l1", 1), PickShare("fo2", "l3", 2)]


def test_bin_sort_is_natural() -> None:
    codes = ["A-10", "A-9", "a-1", "B-1"]
    assert sorted(codes, key=lambda c: bin_sort_key(c, "x")) == ["a-1", "A-9", "A-10", "B-1"]


def test_found_units_go_to_the_first_orders_first() -> None:
    shares = [PickShare("fo1", "l1", 2), PickShare("fo2", "l2", 3)]
    assert share_found(shares, 5) == [(shares[0], 2), (shares[1], 3)]
    assert share_found(shares, 3) == [(shares[0], 2), (shares[1], 1)]
    assert share_found(shares, 0) == [(shares[0], 0), (shares[1], 0)]
    with pytest.raises(ValueError):
        share_found(shares, -1)


# ---- pickup codes


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_pickup_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 190


def test_code_check_outcomes() -> None:
    salt = b"s" * 16
    stored = hash_pickup_code("123456", salt)
    assert stored != b"123456" and len(stored) == 32
    common = {"stored_hash": stored, "salt": salt, "max_attempts": 5}
    assert check_pickup_code("123456", attempts=0, used=False, **common) == "ok"  # type: ignore[arg-type]
    assert check_pickup_code("123457", attempts=0, used=False, **common) == "wrong"  # type: ignore[arg-type]
    assert check_pickup_code("12345", attempts=0, used=False, **common) == "wrong"  # type: ignore[arg-type]
    assert check_pickup_code("123456", attempts=4, used=False, **common) == "ok"  # type: ignore[arg-type]
    # After five wrong codes even the right one is refused.
    assert check_pickup_code("123456", attempts=5, used=False, **common) == "locked"  # type: ignore[arg-type]
    assert check_pickup_code("123456", attempts=0, used=True, **common) == "used"  # type: ignore[arg-type]
    assert check_pickup_code("123456", stored_hash=None, salt=None, attempts=0, max_attempts=5, used=False) == "wrong"
