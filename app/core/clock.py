"""The one clock of the service: UTC-aware, and movable by tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests: expire holds, close return windows)."""
    global _offset, _frozen
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def freeze(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("the clock only holds timezone-aware times")
    global _frozen
    _frozen = at.astimezone(UTC)


def reset() -> None:
    global _offset, _frozen
    _offset = timedelta(0)
    _frozen = None


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes at the edge; store and compare only UTC."""
    if value.tzinfo is None:
        raise ValueError("timestamp must include a timezone offset")
    return value.astimezone(UTC)
