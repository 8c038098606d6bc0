"""The OpenAPI schema states what the API enforces (issue 12, "Proof": operations refused most
inputs their own schema allowed). For a representative set of fields, the bound is read from
the live document — never written here a second time — and a value just inside it must not be
refused on that field, a value just outside it must be a 4xx problem naming the field.

The fields cover each way a bound used to go missing or unstated: a zero bound on an optional
or PATCH field (Litestar dropped `ge=0` / `gt=0` there), a bound on a list's items, a closed set
checked in code (`enum`), a shape checked in code (`pattern`), list and string lengths."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Api

Send = Callable[[Any], Awaitable[httpx.Response]]


@pytest.fixture
async def doc(api: Api) -> dict[str, Any]:
    response = await api.as_(None).get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _field(doc: dict[str, Any], method: str, path: str, field: str) -> dict[str, Any]:
    """The schema of a body field: `lines[].quantity` walks into the items of `lines`."""
    content = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
    schema = _resolve(doc, content["schema"])
    for step in field.split("."):
        name, items = step.removesuffix("[]"), step.endswith("[]")
        schema = _resolve(doc, _non_null(doc, schema["properties"][name]))
        if items:
            schema = _resolve(doc, _non_null(doc, schema)["items"])
    return schema


def _parameter(doc: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    parameters = doc["paths"][path]["get"]["parameters"]
    return next(p["schema"] for p in parameters if p["name"] == name)


def _non_null(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Bounds sit beside a `oneOf` (Litestar's optional fields) or in its non-null branch."""
    branches = [_resolve(doc, b) for b in schema.get("oneOf", []) if b.get("type") != "null"]
    merged = {**branches[0], **schema} if len(branches) == 1 else schema
    merged.pop("oneOf", None)
    return merged


def _integer_cases(schema: dict[str, Any]) -> list[tuple[int, bool]]:
    """(value, inside) just at and just past every bound the schema states; it must state both ends."""
    low = [(schema["minimum"], True), (schema["minimum"] - 1, False)] if "minimum" in schema else []
    if "exclusiveMinimum" in schema:
        low = [(schema["exclusiveMinimum"] + 1, True), (schema["exclusiveMinimum"], False)]
    assert low, f"no lower bound stated: {schema}"
    assert "maximum" in schema, f"no upper bound stated: {schema}"
    return [(int(v), inside) for v, inside in [*low, (schema["maximum"], True), (schema["maximum"] + 1, False)]]


def _named(response: httpx.Response) -> list[str]:
    """The fields a problem names (validation errors' `errors[].field`, a rule's `extra.field`)."""
    if response.status_code < 400 or not response.content:
        return []
    body = response.json()
    fields = [str(e.get("field")) for e in body.get("errors") or []]
    extra = body.get("extra") or {}
    return [*fields, *([str(extra["field"])] if extra.get("field") else [])]


def _check(response: httpx.Response, field: str, inside: bool, value: Any) -> None:
    named = [re.sub(r"\[\d+\]", "[]", f) for f in _named(response)]
    if inside:
        assert response.status_code < 500, response.text
        assert field not in named, f"{value!r} is inside the stated bound but was refused: {response.text}"
    else:
        assert 400 <= response.status_code < 500, f"{value!r} is outside the stated bound: {response.text}"
        assert field in named, f"the refusal of {value!r} does not name {field}: {response.text}"


def _location(code: str, **more: Any) -> dict[str, Any]:
    base = {"code": code, "name": "Bounds store", "kind": "store", "latitude": 48.86, "longitude": 2.34}
    return {**base, "time_zone": "Europe/Paris", **more}


# ---- numbers: a zero bound on optional and PATCH fields, bounds of a list's items -------------


@pytest.mark.parametrize("field", ["daily_capacity", "default_safety_stock", "latitude"])
async def test_location_create_numbers(api: Api, doc: dict[str, Any], field: str) -> None:
    for value, inside in _integer_cases(_field(doc, "post", "/v1/locations", field)):
        code = f"B-{uuid.uuid4().hex[:8]}"
        response = await api.as_("admin").post("/v1/locations", json=_location(code, **{field: value}))
        _check(response, field, inside, value)


@pytest.mark.parametrize("field", ["daily_capacity", "default_safety_stock"])
async def test_location_update_numbers(api: Api, doc: dict[str, Any], field: str) -> None:
    created = await api.as_("admin").post("/v1/locations", json=_location("B-PATCH"))
    assert created.status_code == 201, created.text
    for value, inside in _integer_cases(_field(doc, "patch", "/v1/locations/{code}", field)):
        _check(await api.as_("admin").patch("/v1/locations/B-PATCH", json={field: value}), field, inside, value)


async def test_quote_line_quantity(api: Api, doc: dict[str, Any]) -> None:
    for value, inside in _integer_cases(_field(doc, "post", "/v1/pricing/quote", "lines[].quantity")):
        body = {"currency": "EUR", "lines": [{"sku": "ANY-SKU", "quantity": value}]}
        _check(await api.as_("storefront").post("/v1/pricing/quote", json=body), "lines[].quantity", inside, value)


async def test_parcel_weight(api: Api, doc: dict[str, Any]) -> None:
    """An optional field inside a list's items; an unknown fulfilment order is a 404, not a refusal."""
    path = f"/v1/fulfillment-orders/{uuid.uuid4()}/pack"
    field = "parcels[].weight_grams"
    for value, inside in _integer_cases(_field(doc, "post", "/v1/fulfillment-orders/{fo_id}/pack", field)):
        parcel = {"carrier": "dhl", "tracking_number": "TRACK123", "weight_grams": value}
        _check(await api.as_("admin").post(path, json={"parcels": [parcel]}), field, inside, value)


async def test_code_max_uses(api: Api, doc: dict[str, Any]) -> None:
    path = f"/v1/promotions/{uuid.uuid4()}/codes"
    for value, inside in _integer_cases(_field(doc, "post", "/v1/promotions/{promotion_id}/codes", "max_uses")):
        _check(
            await api.as_("merchandiser").post(path, json={"generate": 1, "max_uses": value}), "max_uses", inside, value
        )


# ---- lengths -----------------------------------------------------------------------------------


async def test_location_name_length(api: Api, doc: dict[str, Any]) -> None:
    longest = _field(doc, "post", "/v1/locations", "name")["maxLength"]
    for value, inside in [("n" * longest, True), ("n" * (longest + 1), False)]:
        response = await api.as_("admin").post("/v1/locations", json=_location(f"B-{uuid.uuid4().hex[:8]}", name=value))
        _check(response, "name", inside, len(value))


async def test_webhook_event_types_count_and_set(api: Api, doc: dict[str, Any]) -> None:
    schema = _field(doc, "post", "/v1/webhooks", "event_types")
    known = _resolve(doc, schema["items"])["enum"]
    url = "https://hooks.example.com/bounds"
    most = schema["maxItems"]
    inside = (known * most)[:most]
    for value, is_inside in [(inside, True), ([*inside, known[0]], False), ([], False)]:
        response = await api.as_("integration").post("/v1/webhooks", json={"url": url, "event_types": value})
        _check(response, "event_types", is_inside, len(value))
    # Outside the stated set: refused with the known types (the service's own problem).
    response = await api.as_("integration").post("/v1/webhooks", json={"url": url, "event_types": ["order.eaten"]})
    assert response.status_code == 422, response.text
    assert sorted(response.json()["extra"]["known"]) == sorted(known)


# ---- closed sets and shapes checked in code, stated in the schema ------------------------------


async def test_fulfillment_status_filter(api: Api, doc: dict[str, Any]) -> None:
    statuses = _non_null(doc, _parameter(doc, "/v1/fulfillment-orders", "status"))["enum"]
    for value, inside in [(statuses[0], True), (statuses[-1], True), ("eaten", False)]:
        response = await api.as_("admin").get("/v1/fulfillment-orders", params={"status": value})
        _check(response, "status", inside, value)


async def test_report_table_and_period(api: Api, doc: dict[str, Any]) -> None:
    tables = _non_null(doc, _parameter(doc, "/v1/reports/channels.csv", "table"))["enum"]
    assert _non_null(doc, _parameter(doc, "/v1/reports/channels.csv", "from"))["format"] == "date"
    for table, inside in [(tables[0], True), (tables[-1], True), ("nope", False)]:
        response = await api.as_("admin").get("/v1/reports/channels.csv", params={"table": table})
        _check(response, "table", inside, table)
    for day, inside in [("2026-12-01", True), ("1 Dec 2026", False)]:
        response = await api.as_("admin").get("/v1/reports/channels", params={"from": day, "to": "2026-12-07"})
        _check(response, "from", inside, day)


async def test_customer_email_shape(api: Api, doc: dict[str, Any]) -> None:
    pattern = _field(doc, "post", "/v1/customers", "email")["pattern"]
    for value in ["ada@example.com", "ada@example", "ada example@x.com"]:
        inside = re.search(pattern, value) is not None
        response = await api.as_("contact_center").post("/v1/customers", json={"name": "Ada", "email": value})
        _check(response, "email", inside, value)


async def test_bodies_refuse_the_unknown_fields_the_schema_leaves_out(api: Api, doc: dict[str, Any]) -> None:
    content = doc["paths"]["/v1/locations"]["post"]["requestBody"]["content"]["application/json"]
    assert _resolve(doc, content["schema"])["additionalProperties"] is False
    response = await api.as_("admin").post("/v1/locations", json=_location("B-EXTRA", colour="blue"))
    _check(response, "colour", False, "colour")
