"""Make the OpenAPI schema state every bound msgspec enforces.

Request bodies refuse unknown fields (`Body` is `forbid_unknown_fields`): `StrictBodySchemaPlugin`
says so (`additionalProperties: false`), else a client may send extra fields the schema allows.

Litestar 2.25 also loses two kinds of msgspec bounds on the way to the OpenAPI document (the API
still enforces them, so a client or fuzzer that trusts the schema meets an unannounced 400):

- a bound of 0 (`ge=0`, `gt=0`) on every field that takes its union path — optional
  (`X | None`), PATCH (`X | UnsetType`) fields and optional query parameters — because the
  copy tests `if value := ...` (upstream: litestar-org/litestar#4650's neighbourhood);
- every `Meta` inside a container: the items of `list[Sku]`, the keys and values of
  `dict[Code, Cost]` — Litestar reads `annotated_types` there, not `msgspec.Meta`.

`state_msgspec_bounds()` replaces the one method that copies a field's constraints onto its
schema with one that tests `is None` and, where Litestar found no constraint, reads the
field's own `msgspec.Meta`. Remove it when Litestar does both. tests/api/edges/
test_schema_states_bounds.py fails if a bound goes missing from the document again.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar._openapi.schema_generation.schema import (
    KWARG_DEFINITION_ATTRIBUTE_TO_OPENAPI_PROPERTY_MAP,
    SchemaCreator,
)
from litestar._openapi.schema_generation.utils import get_json_schema_formatted_examples
from litestar.openapi.spec import Example, Schema
from litestar.typing import FieldDefinition

_NUMBERS = {"ge", "gt", "le", "lt", "min_length", "max_length", "min_items", "max_items", "multiple_of"}
# msgspec.Meta attribute → Schema attribute, for a Meta Litestar did not read.
_META = {
    "gt": "exclusive_minimum",
    "ge": "minimum",
    "lt": "exclusive_maximum",
    "le": "maximum",
    "multiple_of": "multiple_of",
    "pattern": "pattern",
    "description": "description",
    "title": "title",
}


def _apply_kwarg_definition_metadata(self: SchemaCreator, field: FieldDefinition, schema: Schema) -> None:
    _apply_msgspec_meta(field, schema)
    _key_bounds(field, schema)
    if field.kwarg_definition:
        _apply_kwarg_definition(self, field, schema)
    _integer_bounds(schema)


def _apply_kwarg_definition(self: SchemaCreator, field: FieldDefinition, schema: Schema) -> None:
    for key, schema_key in KWARG_DEFINITION_ATTRIBUTE_TO_OPENAPI_PROPERTY_MAP.items():
        value = getattr(field.kwarg_definition, key, None)
        present = value is not None if key in _NUMBERS else bool(value)
        if not present or (isinstance(value, Hashable) and self.is_undefined(value)):
            continue
        if schema_key == "examples":
            value = get_json_schema_formatted_examples(cast("list[Example]", value))
        if getattr(schema, schema_key, None) is None:  # what the type already set wins (as upstream)
            setattr(schema, schema_key, value)


def _integer_bounds(schema: Schema) -> None:
    """Litestar writes an integer's bounds as floats (`maximum: 1000000.0`); generators then send
    the float 1000000.0, which JSON Schema counts as an integer and msgspec refuses. Bounds of an
    integer are integers."""
    if schema.type != "integer":
        return
    for name in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
        value = getattr(schema, name)
        if isinstance(value, float) and value.is_integer():
            setattr(schema, name, int(value))


def _key_bounds(field: FieldDefinition, schema: Schema) -> None:
    """`dict[Annotated[str, Meta(...)], V]`: the keys' bounds as `propertyNames`."""
    if schema.type != "object" or schema.property_names is not None or len(field.inner_types) != 2:
        return
    for meta in (m for m in field.inner_types[0].metadata if isinstance(m, msgspec.Meta)):
        if (meta.min_length, meta.max_length, meta.pattern) != (None, None, None):
            schema.property_names = Schema(min_length=meta.min_length, max_length=meta.max_length, pattern=meta.pattern)


def _apply_msgspec_meta(field: FieldDefinition, schema: Schema) -> None:
    """The annotation's own `msgspec.Meta` (Litestar reads it only on a Struct's fields)."""
    for meta in (m for m in field.metadata if isinstance(m, msgspec.Meta)):
        found: dict[str, Any] = {name: getattr(meta, key) for key, name in _META.items()}
        collection = schema.type == "array" or schema.type == "object"
        found["min_items" if collection else "min_length"] = meta.min_length
        found["max_items" if collection else "max_length"] = meta.max_length
        if isinstance(meta.extra_json_schema, dict):
            found.update(meta.extra_json_schema.get("extra") or {})
        for name, value in found.items():
            if value is not None and getattr(schema, name, None) is None:
                setattr(schema, name, value)


def state_msgspec_bounds() -> None:
    """Idempotent; called by create_app before the schema is first generated."""
    setattr(SchemaCreator, "_apply_kwarg_definition_metadata", _apply_kwarg_definition_metadata)  # noqa: B010


class StrictBodySchemaPlugin(StructSchemaPlugin):
    """A Struct that refuses unknown fields is an object without additional properties."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if field_definition.type_.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        return schema
