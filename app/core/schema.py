"""Base structs for the HTTP edge: unknown fields are refused, fields are keyword-only."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


class Out(msgspec.Struct, kw_only=True):
    """Base of every response body."""


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Quantity = Annotated[int, msgspec.Meta(gt=0, le=1_000_000)]
