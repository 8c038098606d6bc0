from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from app.core import clock
from app.core.pagination import InvalidCursor, Keyset


def test_clock_is_utc_aware_and_movable() -> None:
    before = clock.now()
    assert before.tzinfo is not None
    clock.advance(timedelta(days=31))
    assert clock.now() - before >= timedelta(days=31)
    clock.reset()
    assert clock.now() - before < timedelta(days=1)


def test_frozen_clock() -> None:
    moment = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    clock.freeze(moment)
    assert clock.now() == datetime(2026, 1, 1, 10, tzinfo=UTC)
    clock.advance(timedelta(seconds=1))
    assert clock.now() == datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        clock.freeze(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        clock.ensure_utc(datetime(2026, 1, 1))


ORDERS = Keyset("orders", datetime, uuid.UUID)
SEEN = Keyset("seen", int)


def test_cursor_round_trip_gives_typed_values() -> None:
    key = [datetime(2026, 1, 1, tzinfo=UTC), uuid.UUID(int=7)]
    assert ORDERS.after(ORDERS.encode(key)) == tuple(key)
    assert ORDERS.after(ORDERS.encode([key[0].isoformat(), str(key[1])])) == tuple(key)
    assert ORDERS.after(None) is None


def _forge(values: object, signature_of: bytes = b"") -> str:
    payload = msgspec.json.encode(values)
    return f"{base64.urlsafe_b64encode(payload).decode()}.{base64.urlsafe_b64encode(signature_of).decode()}"


@pytest.mark.parametrize(
    "bad",
    [
        "%%%",
        "bm90IGpzb24",
        "WyJ4IiwieSJd",  # ["x","y"], unsigned
        _forge(["x", "y"], b"0" * 16),  # signed by someone else
        SEEN.encode([2]),  # another list's cursor
        ORDERS.encode([1, 2]),  # our own signature, but not this list's types
        ORDERS.encode([datetime(2026, 1, 1, tzinfo=UTC), uuid.UUID(int=7)]) + "A",  # edited
    ],
)
def test_foreign_and_forged_cursors_are_refused(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        ORDERS.after(bad)


def test_page_sets_next_cursor_only_when_more_rows() -> None:
    rows = [1, 2, 3]
    page = SEEN.page(rows, 2, key=lambda r: [r])
    assert page.items == [1, 2]
    assert SEEN.after(page.next_cursor) == (2,)
    assert SEEN.page([1, 2], 2, key=lambda r: [r]).next_cursor is None


def test_a_scoped_cursor_is_valid_for_its_scope_only() -> None:
    cursor = SEEN.encode([5], scope=("SKU-1", None))
    assert SEEN.after(cursor, scope=("SKU-1", None)) == (5,)
    for other in (("SKU-2", None), ("SKU-1", "WH"), ""):
        with pytest.raises(InvalidCursor):
            SEEN.after(cursor, scope=other)
