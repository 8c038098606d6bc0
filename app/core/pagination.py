"""Cursor pagination: keyset pages whose cursors are opaque, typed and bound to their list.

A cursor is the last row's sort key, signed with a key derived from the service's secret
(`app.core.signing`) and the list's name: a cursor forged, edited or taken from another list
is refused as 400 `invalid_cursor` before it reaches a query, and the values it carries come
back with the list's own types (datetime, UUID, int, str). Every list declares its keyset once:

    PRICE_HISTORY = Keyset("prices", datetime, uuid.UUID)
    after = PRICE_HISTORY.after(cursor, scope=sku)            # None, or (valid_from, id)
    return PRICE_HISTORY.page(rows, limit, lambda p: [p.valid_from, p.id], scope=sku)

A list of one thing (an order's timeline, a promotion's codes, a SKU's prices) passes that
thing as `scope`, so its cursors are valid for that one only.

Cursors stay valid as long as `OMS_SECRET_KEY` does: rotating it invalidates cursors held by
clients (they start again from the first page).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Sequence
from hashlib import sha256
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from app.core.errors import Problem
from app.core.signing import derive

T = TypeVar("T")

# Litestar validates query parameters from `Parameter`, not from msgspec.Meta (which it ignores there).
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
DEFAULT_LIMIT = 50
Cursor = Annotated[
    str | None, Parameter(max_length=500, description="`next_cursor` of the previous page of this same list")
]

_MAC_BYTES = 16


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class InvalidCursor(Problem):
    status, code, title = 400, "invalid_cursor", "Cursor is not valid"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


class Keyset:
    """One list's cursor: its name (what a cursor is bound to) and the types of its sort key."""

    def __init__(self, name: str, *types: Any) -> None:
        self.name = name
        self._decoder = msgspec.json.Decoder(tuple[tuple(types)] if types else tuple[()])  # type: ignore[misc]

    def _mac(self, payload: bytes, scope: object) -> bytes:
        signed = payload + b"\x00" + str(scope).encode()
        return hmac.new(derive("cursor", self.name), signed, sha256).digest()[:_MAC_BYTES]

    def encode(self, values: Sequence[Any], scope: object = "") -> str:
        """`scope` names which instance of the list (the order of a timeline, the promotion of
        its codes): a cursor is then valid for that one only."""
        payload = msgspec.json.encode(list(values))
        return f"{_b64(payload)}.{_b64(self._mac(payload, scope))}"

    def after(self, cursor: str | None, scope: object = "") -> tuple[Any, ...] | None:
        """The sort key of the row after which the page starts, or None for the first page."""
        if not cursor:
            return None
        try:
            encoded, _, mac = cursor.partition(".")
            payload = _unb64(encoded)
            genuine = hmac.compare_digest(_unb64(mac), self._mac(payload, scope))
        except ValueError:
            genuine = False
        if not genuine:
            raise InvalidCursor("the cursor was not issued by this list") from None
        try:
            values: tuple[Any, ...] = self._decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # Signed by us for this list, but in an older shape (the list's sort key changed).
            raise InvalidCursor("the cursor is from an older version of this list; start again") from None
        return values

    def page(self, rows: list[T], limit: int, key: Callable[[T], Sequence[Any]], scope: object = "") -> Page[T]:
        """Build a page from `limit + 1` fetched rows; `key(row)` gives the row's sort key."""
        if len(rows) > limit:
            rows = rows[:limit]
            return Page(items=rows, next_cursor=self.encode(key(rows[-1]), scope))
        return Page(items=rows, next_cursor=None)
