from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core import clock
from app.core.pagination import InvalidCursor, decode_cursor, encode_cursor, page_of


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


def test_cursor_round_trip() -> None:
    cursor = encode_cursor(["2026-01-01T00:00:00+00:00", "abc"])
    assert decode_cursor(cursor, 2) == ["2026-01-01T00:00:00+00:00", "abc"]
    assert decode_cursor(None, 2) is None


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor([1, 2, 3]), encode_cursor({"a": 1})])  # type: ignore[list-item]
def test_foreign_cursors_are_refused(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(bad, 2)


def test_page_of_sets_next_cursor_only_when_more_rows() -> None:
    rows = [1, 2, 3]
    page = page_of(rows, 2, key=lambda r: [r])
    assert page.items == [1, 2]
    assert decode_cursor(page.next_cursor, 1) == [2]
    assert page_of([1, 2], 2, key=lambda r: [r]).next_cursor is None
