"""ops/bench/fuzz.py's schema post-processing: links from creates to the resource's operations,
and a role's share of the schema keeps only links to operations it holds (schemathesis refuses
a link to an operation that is not in the schema)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "ops" / "bench"


def _fuzz() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("fuzz", BENCH / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _op(op_id: str, status: str = "200") -> dict[str, Any]:
    return {"operationId": op_id, "responses": {status: {"description": "ok"}}}


def _schema() -> dict[str, Any]:
    return {
        "paths": {
            "/v1/things": {"post": _op("CreateThing", "201"), "get": _op("ListThings")},
            "/v1/things/{thing_id}": {"get": _op("GetThing")},
            "/v1/things/{thing_id}/close": {"post": _op("CloseThing")},
            "/v1/places/{code}": {"get": _op("GetPlace")},
            "/v1/places": {"post": _op("CreatePlace", "201")},
        }
    }


def test_links_go_from_a_create_to_each_operation_on_its_resource() -> None:
    schema = _schema()
    assert _fuzz().add_links(schema) == 3
    links = schema["paths"]["/v1/things"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {"GetThing", "CloseThing"}
    assert links["POST /v1/things/{thing_id}/close"]["parameters"] == {"path.thing_id": "$response.body#/id"}
    place = schema["paths"]["/v1/places"]["post"]["responses"]["201"]["links"]["GET /v1/places/{code}"]
    assert place["parameters"] == {"path.code": "$response.body#/code"}
    assert "links" not in schema["paths"]["/v1/things"]["get"]["responses"]["200"]


def test_a_roles_schema_keeps_only_links_to_its_own_operations() -> None:
    fuzz = _fuzz()
    schema = _schema()
    fuzz.add_links(schema)
    access = {
        "/v1/things": {"pos": {"POST", "GET"}},
        "/v1/things/{thing_id}": {"pos": {"GET"}},
        "/v1/things/{thing_id}/close": {"admin": {"POST"}},
        "/v1/places": {"admin": {"POST"}},
        "/v1/places/{code}": {"pos": {"GET"}},
    }
    allowed, denied = fuzz.split_by_role(schema, access, "pos")
    assert set(allowed["paths"]) == {"/v1/things", "/v1/things/{thing_id}", "/v1/places/{code}"}
    links = allowed["paths"]["/v1/things"]["post"]["responses"]["201"]["links"]
    assert [link["operationId"] for link in links.values()] == ["GetThing"]
    assert set(denied["paths"]) == {"/v1/things/{thing_id}/close", "/v1/places"}
    assert "links" not in denied["paths"]["/v1/places"]["post"]["responses"]["201"]
