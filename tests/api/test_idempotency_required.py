"""Money-moving creates need an Idempotency-Key (428 without one, nothing written), the
schema says so, and a retry whose JSON only orders its keys differently is the same request."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Order
from tests.conftest import Api
from tests.factories.orders import delivery_order, make_shop

NO_KEY = {"Idempotency-Key": None}

# (method path in the schema, a path to call, role)
KEYED = [
    ("/v1/orders", "/v1/orders", "storefront"),
    ("/v1/returns", "/v1/returns", "pos"),
    ("/v1/returns/{return_id}/refund", "/v1/returns/8d7c4f0e-2f7b-4a53-9a59-8e6f5c8f2b11/refund", "pos"),
    ("/v1/exchanges", "/v1/exchanges", "pos"),
    ("/v1/loyalty/cards/{number}/adjustments", "/v1/loyalty/cards/2900000000008/adjustments", "admin"),
    ("/v1/stock/adjustments", "/v1/stock/adjustments", "admin"),
    ("/v1/stock/counts", "/v1/stock/counts", "admin"),
    ("/v1/stock/sync", "/v1/stock/sync", "admin"),
]


async def test_an_order_without_a_key_is_refused_and_writes_nothing(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    response = await api.as_("storefront").post("/v1/orders", json=delivery_order(shop.skus[:1], 1000), headers=NO_KEY)
    assert response.status_code == 428, response.text
    assert response.json()["code"] == "idempotency_key_required"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await db.scalar(select(func.count()).select_from(Order)) == 0


@pytest.mark.parametrize(("template", "path", "label"), KEYED)
async def test_every_money_moving_create_needs_a_key(api: Api, template: str, path: str, label: str) -> None:
    """Checked before the body is parsed, so an empty body shows it too."""
    response = await api.as_(label).post(path, json={}, headers=NO_KEY)
    assert response.status_code == 428, response.text
    assert response.json()["code"] == "idempotency_key_required"


async def test_the_schema_declares_the_header_required(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    for template, _, _ in KEYED:
        operation = schema["paths"][template]["post"]
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert headers and headers[0]["required"] is True, template
        assert "428" in operation["responses"], template


async def test_stock_adjustment_without_a_key_writes_no_ledger_row(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    body = {"sku": shop.skus[0], "location": shop.warehouse, "delta": 5, "reason": "receipt"}
    before = (await api.as_("admin").get("/v1/stock", params={"sku": shop.skus[0], "location": shop.warehouse})).json()
    refused = await api.as_("admin").post("/v1/stock/adjustments", json=body, headers=NO_KEY)
    assert refused.status_code == 428, refused.text
    after = (await api.as_("admin").get("/v1/stock", params={"sku": shop.skus[0], "location": shop.warehouse})).json()
    assert after == before


async def test_same_json_in_another_key_order_replays_the_first_order(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    body = delivery_order(shop.skus[:1], 1000)
    first_bytes = msgspec.json.encode(body)
    reordered = msgspec.json.encode(dict(reversed(list(body.items()))))
    reordered = reordered.replace(b",", b", ").replace(b":", b": ")  # whitespace too
    assert first_bytes != reordered
    headers = {"Idempotency-Key": "same-order-1", "Content-Type": "application/json"}
    first = await api.as_("storefront").post("/v1/orders", content=first_bytes, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.as_("storefront").post("/v1/orders", content=reordered, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.scalar(select(func.count()).select_from(Order)) == 1
    other = delivery_order(shop.skus[:2], 3500)
    refused = await api.as_("storefront").post("/v1/orders", json=other, headers={"Idempotency-Key": "same-order-1"})
    assert refused.status_code == 422 and refused.json()["code"] == "idempotency_key_reused"


async def test_a_key_may_be_retried_after_a_validation_error(api: Api, db: AsyncSession) -> None:
    """A 4xx stores nothing: the same key with a corrected body places the order."""
    shop = await make_shop(db)
    headers = {"Idempotency-Key": "retry-after-422"}
    wrong_total = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus[:1], 999), headers=headers
    )
    assert wrong_total.status_code == 422, wrong_total.text
    fixed = await api.as_("storefront").post("/v1/orders", json=delivery_order(shop.skus[:1], 1000), headers=headers)
    assert fixed.status_code == 201, fixed.text
