"""Base structs for the HTTP edge: unknown fields are refused, fields are keyword-only."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


class Out(msgspec.Struct, kw_only=True):
    """Base of every response body."""


def stated(**schema: Any) -> dict[str, Any]:
    """`Meta(extra_json_schema=stated(enum=[...]))`: a bound the service checks itself — with its
    own problem code and the field named — stated in the OpenAPI document (Litestar copies the
    `extra` entries onto the field's schema) without msgspec enforcing it a second time. For a
    query parameter, pass the same entries as `Parameter(schema_extra=...)`."""
    return {"extra": schema}


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
# A name people read: at least one visible character, no control characters (tab, newline, NUL...).
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=200, pattern=NAME_PATTERN, description="a visible name, no control characters"
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Quantity = Annotated[int, msgspec.Meta(gt=0, le=1_000_000)]
# Units of one line of a cart, quote, order or return: bounded with app.core.money.MAX_UNIT_PRICE
# so that no total can leave JavaScript's safe integers.
MAX_SALE_QUANTITY = 10_000
SaleQuantity = Annotated[int, msgspec.Meta(gt=0, le=MAX_SALE_QUANTITY)]


# ---- reading msgspec's errors back against the schema ---------------------------------------

_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_CONTAINERS = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)


def error_path(message: str) -> tuple[str, str]:
    """msgspec's "Expected `int`, got `str` - at `$.lines[0].quantity`" → (message, "lines[0].quantity")."""
    text, _, where = message.partition(" - at `$")
    return text, where.rstrip("`").lstrip(".")


def allowed_values(annotation: Any, path: str) -> list[Any] | None:
    """The values an enum or literal field at `path` (msgspec's notation) accepts, else None."""
    info: mi.Type | None = mi.type_info(annotation)
    for name, index in _STEP.findall("." + path if path and not path.startswith("[") else path):
        info = _step(info, name, index)
    for candidate in _alternatives(info):
        if isinstance(candidate, mi.EnumType):
            return [member.value for member in candidate.cls]
        if isinstance(candidate, mi.LiteralType):
            return list(candidate.values)
    return None


def _alternatives(info: mi.Type | None) -> list[mi.Type]:
    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.UnionType):
        return [t for member in info.types for t in _alternatives(member)]
    return [info] if info is not None else []


def _step(info: mi.Type | None, name: str, index: str) -> mi.Type | None:
    # A tagged union's tag (`{"method": "delivery" | "pickup", ...}`) allows its structs' tags.
    tags = [c.tag for c in _alternatives(info) if isinstance(c, mi.StructType) and name and c.tag_field == name]
    if tags:
        return mi.LiteralType(values=tuple(tags))
    for candidate in _alternatives(info):
        if index and isinstance(candidate, _CONTAINERS):
            return candidate.item_type
        if index and isinstance(candidate, mi.TupleType):
            return candidate.item_types[int(index)] if int(index) < len(candidate.item_types) else None
        if name and isinstance(candidate, mi.StructType):
            return next((f.type for f in candidate.fields if f.encode_name == name), None)
        if name and isinstance(candidate, mi.DictType):
            return candidate.value_type
    return None
