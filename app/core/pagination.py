"""Cursor pagination: the cursor is the opaque, URL-safe encoding of the last row's sort key."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from app.core.errors import Problem

T = TypeVar("T")

# Litestar validates query parameters from `Parameter`, not from msgspec.Meta (which it ignores there).
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
DEFAULT_LIMIT = 50
Cursor = Annotated[str | None, Parameter(max_length=500)]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class InvalidCursor(Problem):
    status, code, title = 400, "invalid_cursor", "Cursor is not valid"


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The sort key of the row after which the page starts, or None for the first page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = msgspec.json.decode(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, msgspec.DecodeError):
        raise InvalidCursor("the cursor was not issued by this API") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidCursor("the cursor was not issued by this list")
    return values


def page_of(rows: list[T], limit: int, key: Any) -> Page[T]:
    """Build a page from `limit + 1` fetched rows; `key(row)` gives the row's sort key list."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(items=rows, next_cursor=encode_cursor(key(rows[-1])))
    return Page(items=rows, next_cursor=None)
