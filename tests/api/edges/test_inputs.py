"""Bad input at the edge: every case is a clear 4xx problem that names what is wrong and
writes nothing (issue 12, "Inputs that must become clear 4xx problems")."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Product
from app.core import clock
from app.inventory.models import StockLevel, StockMovement
from tests.conftest import TEST_STORE, Api
from tests.factories.inventory import receive
from tests.factories.orders import delivery_order, make_shop

TAMPERED = "WyJ4IiwieSJd"  # base64 of ["x","y"]


def _problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def _fields(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["field"] for e in body.get("errors") or []]


def _product(code: str = "EDGE-1", **more: object) -> dict[str, object]:
    return {"code": code, "name": "Edge tee", "variants": [{"sku": f"{code}-M"}], **more}


async def _products(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Product)) or 0)


# ---- JSON depth, body size, media type ------------------------------------------------------


async def test_deeply_nested_json_is_a_400_not_a_500(api: Api, db: AsyncSession) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    response = await api.as_("merchandiser").post(
        "/v1/products", content=deep, headers={"content-type": "application/json"}
    )
    _problem(response, 400, "json_too_deep")
    wrapped = b'{"code": "EDGE-1", "name": ' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}"
    response = await api.as_("merchandiser").post(
        "/v1/products", content=wrapped, headers={"content-type": "application/json"}
    )
    _problem(response, 400, "json_too_deep")
    # Brackets inside strings are text, not nesting.
    text = _product(name="[" * 150)
    assert await _products(db) == 0
    assert (await api.as_("merchandiser").post("/v1/products", json=text)).status_code == 201


async def test_a_body_over_the_limit_is_413(api: Api, db: AsyncSession, settings) -> None:  # type: ignore[no-untyped-def]
    big = _product(description="x" * (settings.max_body_bytes + 10))
    response = await api.as_("merchandiser").post("/v1/products", json=big)
    _problem(response, 413, "payload_too_large")
    assert await _products(db) == 0


async def test_a_chunked_body_is_cut_off_at_the_limit_not_read_whole(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    chunk = b" " * 65536
    total = settings.max_body_bytes // len(chunk) * 8
    sent = 0

    async def endless() -> AsyncIterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        nonlocal sent
        for _ in range(total):
            sent += 1
            yield chunk

    response = await api.as_("merchandiser").post(
        "/v1/products", content=endless(), headers={"content-type": "application/json"}
    )
    _problem(response, 413, "payload_too_large")
    assert sent < total / 2


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
async def test_json_endpoints_refuse_other_media_types(api: Api, db: AsyncSession, content_type: str | None) -> None:
    import msgspec

    headers = {"content-type": content_type} if content_type else {}
    response = await api.as_("merchandiser").post(
        "/v1/products", content=msgspec.json.encode(_product()), headers=headers
    )
    _problem(response, 415, "unsupported_media_type")
    assert await _products(db) == 0
    ok = await api.as_("merchandiser").post(
        "/v1/products",
        content=msgspec.json.encode(_product()),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201, ok.text


# ---- cursors ---------------------------------------------------------------------------------


async def test_tampered_cursors_are_400_invalid_cursor_on_every_list(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    lists = [
        ("merchandiser", "/v1/prices", {"sku": shop.skus[0]}),
        ("merchandiser", "/v1/promotions", {}),
        ("logistics", "/v1/transfers", {}),
        ("logistics", "/v1/fulfillment-orders", {}),
        ("logistics", "/v1/stock/ledger", {"sku": shop.skus[0]}),
        ("admin", "/v1/orders", {}),
        ("merchandiser", "/v1/products", {}),
    ]
    for label, url, params in lists:
        for cursor in (TAMPERED, "WzFd", "garbage!", "eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"):
            response = await api.as_(label).get(url, params={**params, "cursor": cursor})
            _problem(response, 400, "invalid_cursor")


async def test_a_cursor_is_bound_to_its_list(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    await receive(db, shop.skus[0], shop.warehouse, 5)  # two ledger rows at the warehouse
    await db.flush()
    ledger = await api.as_("logistics").get("/v1/stock/ledger", params={"sku": shop.skus[0], "limit": 1})
    cursor = ledger.json()["next_cursor"]
    assert cursor
    following = await api.as_("logistics").get(
        "/v1/stock/ledger", params={"sku": shop.skus[0], "limit": 1, "cursor": cursor}
    )
    assert following.status_code == 200 and following.json()["items"] != ledger.json()["items"]
    other_sku = await api.as_("logistics").get("/v1/stock/ledger", params={"sku": shop.skus[1], "cursor": cursor})
    _problem(other_sku, 400, "invalid_cursor")  # bound to the SKU's ledger it came from
    for label, url, params in [
        ("logistics", "/v1/transfers", {}),
        ("logistics", "/v1/fulfillment-orders", {}),
        ("admin", "/v1/webhooks/" + str(uuid.uuid4()) + "/deliveries", {}),
        ("merchandiser", "/v1/price-zones", {}),
        ("integration", "/v1/events", {}),
    ]:
        key = "after" if url == "/v1/events" else "cursor"
        response = await api.as_(label).get(url, params={**params, key: cursor})
        assert response.status_code in (400, 404), response.text
        if response.status_code == 400:
            assert response.json()["code"] == "invalid_cursor"


# ---- errors name the field -------------------------------------------------------------------


async def test_a_nul_byte_names_its_field(api: Api, db: AsyncSession) -> None:
    body = await api.as_("merchandiser").post("/v1/products", json=_product(name="Edge\x00tee"))
    assert _fields(_problem(body, 400, "validation_error")) == ["name"]
    nested = await api.as_("merchandiser").post(
        "/v1/products", json=_product(variants=[{"sku": "EDGE-1-M", "attributes": {"colour": "red\x00"}}])
    )
    assert _fields(_problem(nested, 400, "validation_error"))[0].startswith("variants[0]")
    query = await api.as_("merchandiser").get("/v1/prices", params={"sku": "a\x00b"})
    body_ = _problem(query, 400, "validation_error")
    assert _fields(body_) == ["sku"] and body_["errors"][0]["source"] == "query"
    assert await _products(db) == 0


async def test_a_path_id_that_is_not_a_uuid_names_the_parameter(api: Api) -> None:
    response = await api.as_("merchandiser").get("/v1/products/not-a-uuid")
    body = _problem(response, 400, "validation_error")
    assert body["errors"] == [{"field": "product_id", "message": "not a valid UUID", "source": "path"}]
    unknown = await api.as_("merchandiser").get(f"/v1/products/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert (await api.as_("merchandiser").get("/v1/nowhere")).status_code == 404


async def test_an_enum_error_lists_the_allowed_values(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = {**delivery_order(shop.skus, 3999), "fulfillment": {"method": "teleport"}}
    response = await api.as_("contact_center").post("/v1/orders", json=order, headers={"Idempotency-Key": "enum-1"})
    body = _problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "fulfillment.method"
    assert body["errors"][0]["allowed"] == ["delivery", "pickup"]
    assert "delivery" in body["detail"] and "pickup" in body["detail"]
    query = await api.as_("admin").get("/v1/orders", params={"status": "nope"})
    error = _problem(query, 400, "validation_error")["errors"][0]
    assert error["field"] == "status" and "placed" in error["allowed"]


async def test_a_missing_query_parameter_is_named(api: Api) -> None:
    response = await api.as_("merchandiser").get("/v1/prices")
    body = _problem(response, 400, "validation_error")
    assert body["errors"] == [{"field": "sku", "message": "missing required query parameter", "source": "query"}]


async def test_a_403_says_which_roles_may_call(api: Api) -> None:
    response = await api.as_("storefront").post("/v1/products", json=_product())
    body = _problem(response, 403, "forbidden")
    assert "merchandiser" in body["detail"] and "admin" in body["detail"]


# ---- numbers are numbers ---------------------------------------------------------------------


async def test_numeric_strings_are_refused_where_a_number_is_required(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = {**delivery_order(shop.skus[:1], 1000), "lines": [{"sku": shop.skus[0], "quantity": "1"}]}
    response = await api.as_("contact_center").post("/v1/orders", json=order, headers={"Idempotency-Key": "str-1"})
    body = _problem(response, 400, "validation_error")
    assert _fields(body) == ["lines[0].quantity"] and "Expected `int`" in body["errors"][0]["message"]


# ---- stock counts --------------------------------------------------------------------------


async def _on_hand(db: AsyncSession, sku: str, location: str) -> int:
    q = select(StockLevel.on_hand).where(StockLevel.sku == sku, StockLevel.location_code == location)
    return int(await db.scalar(q) or 0)


async def _movements(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(StockMovement)) or 0)


@pytest.mark.parametrize(
    ("counted_at", "code"),
    [
        ("0001-01-01T00:00:00Z", "counted_too_long_ago"),
        (None, "counted_too_long_ago"),  # just beyond the horizon (set below)
        ("future", "counted_in_future"),
    ],
)
async def test_stock_counts_outside_the_horizon_are_refused(
    api: Api,
    db: AsyncSession,
    settings,
    counted_at: str | None,
    code: str,  # type: ignore[no-untyped-def]
) -> None:
    shop = await make_shop(db)
    sku = shop.skus[0]
    clock.advance(timedelta(days=settings.stock_count_horizon_days - 1))  # the shop's receipts are that old
    before, moves = await _on_hand(db, sku, TEST_STORE), await _movements(db)
    if counted_at is None:
        counted_at = (clock.now() - timedelta(days=settings.stock_count_horizon_days, minutes=1)).isoformat()
    elif counted_at == "future":
        counted_at = (clock.now() + timedelta(hours=1)).isoformat()
    body = {"location": TEST_STORE, "lines": [{"sku": sku, "on_hand": before}], "counted_at": counted_at}
    response = await api.as_("pos").post("/v1/stock/counts", json=body, headers={"Idempotency-Key": f"count-{code}"})
    _problem(response, 422, code)
    assert (await _on_hand(db, sku, TEST_STORE), await _movements(db)) == (before, moves)
    recent = clock.now() - timedelta(days=settings.stock_count_horizon_days - 1) + timedelta(minutes=1)
    fine = {**body, "counted_at": recent.isoformat(), "lines": [{"sku": sku, "on_hand": before + 1}]}
    ok = await api.as_("pos").post("/v1/stock/counts", json=fine, headers={"Idempotency-Key": f"count-ok-{code}"})
    assert ok.status_code == 201, ok.text
    assert await _on_hand(db, sku, TEST_STORE) == before + 1
    assert isinstance(datetime.fromisoformat(counted_at), datetime)


# ---- money -----------------------------------------------------------------------------------


def test_the_input_bounds_keep_every_total_a_javascript_safe_integer() -> None:
    from app.core.money import MAX_UNIT_PRICE, SAFE_INTEGER
    from app.core.schema import MAX_SALE_QUANTITY
    from app.pricing.schemas import QuoteRequest

    max_lines = msgspec.inspect.type_info(QuoteRequest)
    field = next(f for f in max_lines.fields if f.name == "lines").type  # type: ignore[attr-defined]
    lines = next(t for t in field.types if not isinstance(t, msgspec.inspect.NoneType))  # lines | None (a cart)
    assert lines.max_length * MAX_SALE_QUANTITY * MAX_UNIT_PRICE + MAX_UNIT_PRICE <= SAFE_INTEGER


async def test_prices_and_quantities_beyond_the_bounds_are_refused(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    price = {"sku": shop.skus[0], "currency": "EUR", "amount": 10**9 + 1}
    response = await api.as_("merchandiser").post("/v1/prices", json=price, headers={"Idempotency-Key": "big-price"})
    assert _fields(_problem(response, 400, "validation_error")) == ["amount"]
    order = {**delivery_order(shop.skus[:1], 1000), "lines": [{"sku": shop.skus[0], "quantity": 10_001}]}
    response = await api.as_("contact_center").post("/v1/orders", json=order, headers={"Idempotency-Key": "big-qty"})
    assert _fields(_problem(response, 400, "validation_error")) == ["lines[0].quantity"]
    schema = (await api.as_("admin").get("/schema/openapi.json")).json()
    price_create = schema["components"]["schemas"]["PriceCreate"]["properties"]["amount"]
    assert price_create["maximum"] == 10**9


async def test_the_largest_allowed_line_prices_exactly(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    biggest = {"sku": shop.skus[0], "currency": "EUR", "amount": 10**9}
    assert (await api.as_("merchandiser").post("/v1/prices", json=biggest)).status_code == 201
    quote = await api.as_("storefront").post(
        "/v1/pricing/quote", json={"lines": [{"sku": shop.skus[0], "quantity": 10_000}], "currency": "EUR"}
    )
    assert quote.status_code == 200, quote.text
    assert quote.json()["total"] == 10**13


# ---- zero totals -----------------------------------------------------------------------------


async def test_an_order_whose_total_is_zero_needs_no_tender(api: Api, db: AsyncSession) -> None:
    from app.pricing import service as pricing
    from app.pricing.rules import Kind
    from app.pricing.schemas import CodesCreate, PromotionCreate

    shop = await make_shop(db)
    free = await pricing.create_promotion(
        db,
        PromotionCreate(
            kind=Kind.ORDER_PERCENT_OFF,
            name="All free",
            starts_at=clock.now() - timedelta(minutes=1),
            percent_bp=10_000,
            requires_code=True,
        ),
    )
    await pricing.add_codes(db, free.id, CodesCreate(code="FREE100"))
    await db.flush()
    body = {**delivery_order(shop.skus[:1], 0), "codes": ["FREE100"]}
    del body["tenders"]
    placed = await api.as_("contact_center").post("/v1/orders", json=body, headers={"Idempotency-Key": "free-1"})
    assert placed.status_code == 201, placed.text
    assert (placed.json()["total"], placed.json()["tenders"]) == (0, [])
    unpaid = {**delivery_order(shop.skus[:1], 0), "tenders": []}
    refused = await api.as_("contact_center").post("/v1/orders", json=unpaid, headers={"Idempotency-Key": "free-2"})
    _problem(refused, 422, "tenders_do_not_match_total")
    cancel = f"/v1/orders/{placed.json()['id']}/cancel"
    unnamed = await api.as_("contact_center").post(cancel, json={})
    assert _fields(_problem(unnamed, 400, "validation_error")) == ["reason"]
    cancelled = await api.as_("contact_center").post(cancel, json={"reason": "changed mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


# ---- names, bins, promotion targets ----------------------------------------------------------


@pytest.mark.parametrize("name", ["   ", "Ada\nLovelace", "Ada\x07", "\t"])
async def test_a_customer_name_of_blanks_or_control_characters_is_refused(
    api: Api, db: AsyncSession, name: str
) -> None:
    from app.customers.models import Customer

    response = await api.as_("contact_center").post(
        "/v1/customers", json={"name": name, "email": "ada@example.com"}, headers={"Idempotency-Key": "name-1"}
    )
    body = _problem(response, 400, "validation_error")
    assert _fields(body) == ["name"] and "visible" in body["errors"][0]["message"]
    assert int(await db.scalar(select(func.count()).select_from(Customer)) or 0) == 0


async def test_bins_naming_unknown_skus_are_refused(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    bins = {"bins": [{"sku": shop.skus[0], "bin": "A-01"}, {"sku": "NO-SUCH-SKU", "bin": "A-02"}]}
    response = await api.as_("logistics").put(f"/v1/bins/{shop.warehouse}", json=bins)
    body = _problem(response, 422, "unknown_sku")
    assert body["extra"] == {"field": "bins", "skus": ["NO-SUCH-SKU"]}
    known = await api.as_("logistics").put(f"/v1/bins/{shop.warehouse}", json={"bins": bins["bins"][:1]})
    assert known.status_code == 200, known.text


async def test_promotions_naming_unknown_skus_are_refused(api: Api, db: AsyncSession) -> None:
    from app.pricing.models import Promotion

    shop = await make_shop(db)
    before = int(await db.scalar(select(func.count()).select_from(Promotion)) or 0)
    promotion = {
        "kind": "percent_off_items",
        "name": "Tees off",
        "percent_bp": 1000,
        "starts_at": clock.now().isoformat(),
        "target": {"skus": [shop.skus[0], "NO-SUCH-SKU"]},
    }
    response = await api.as_("merchandiser").post("/v1/promotions", json=promotion, headers={"Idempotency-Key": "p-1"})
    body = _problem(response, 422, "unknown_sku")
    assert body["extra"] == {"field": "target.skus", "skus": ["NO-SUCH-SKU"]}
    assert int(await db.scalar(select(func.count()).select_from(Promotion)) or 0) == before
    ok = {**promotion, "target": {"skus": [shop.skus[0]]}}
    created = await api.as_("merchandiser").post("/v1/promotions", json=ok, headers={"Idempotency-Key": "p-2"})
    assert created.status_code == 201, created.text
    patched = await api.as_("merchandiser").patch(
        f"/v1/promotions/{created.json()['id']}", json={"target": {"skus": ["NO-SUCH-SKU"]}}
    )
    _problem(patched, 422, "unknown_sku")


async def test_a_free_order_ships_and_captures_nothing(api: Api, db: AsyncSession) -> None:
    from app.orders.payments.models import TestGatewayAuthorization
    from app.pricing import service as pricing
    from app.pricing.rules import Kind
    from app.pricing.schemas import PromotionCreate
    from tests.api.fulfillment.conftest import location, order_body, pick_and_pack, retailer

    shop = await retailer(db, 1)
    await location(db, "WH-TEST", "warehouse", 45.76, 4.83, {shop.skus[0]: 2})
    await pricing.create_promotion(
        db,
        PromotionCreate(
            kind=Kind.ORDER_PERCENT_OFF, name="Gift", starts_at=clock.now() - timedelta(minutes=1), percent_bp=10_000
        ),
    )
    await db.commit()
    body = {**order_body({shop.skus[0]: 1}), "tenders": []}
    placed = await api.as_("storefront").post("/v1/orders", json=body, headers={"Idempotency-Key": "gift-1"})
    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == 0
    fos = (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": placed.json()["id"]})).json()
    fo = fos["items"][0]
    await pick_and_pack(api, fo["id"], "GIFT-1")
    shipped = await api.as_("logistics").post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert shipped.status_code == 200, shipped.text
    order = (await api.as_("admin").get(f"/v1/orders/{placed.json()['id']}")).json()
    assert order["status"] in ("shipped", "completed", "fulfilled"), order["status"]
    assert int(await db.scalar(select(func.count()).select_from(TestGatewayAuthorization)) or 0) == 0
