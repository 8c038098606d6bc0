"""Order placement over HTTP, through pricing, inventory and the `test` gateway."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.models import StockLevel
from app.orders.models import Order
from app.orders.payments.models import TestGatewayAuthorization
from tests.conftest import Api
from tests.factories.orders import ADDRESS, delivery_order, make_shop

TOTAL3 = 1000 + 2500 + 499


async def _reserved(db: AsyncSession, sku: str, location: str) -> int:
    return int(
        await db.scalar(select(StockLevel.reserved).where(StockLevel.sku == sku, StockLevel.location_code == location))
        or 0
    )


async def _orders(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Order)) or 0)


async def test_web_delivery_order_reserves_at_warehouse_and_authorizes(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    r = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus, TOTAL3), headers={"Idempotency-Key": "k1"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "released_to_fulfillment"
    assert body["channel"] == "web"
    assert body["total"] == TOTAL3
    assert len(body["number"]) == 8
    assert [line["location_code"] for line in body["lines"]] == [shop.warehouse] * 3
    assert [line["line_total"] for line in body["lines"]] == [1000, 2500, 499]
    assert body["lines"][0]["pricing"]["unit_price"] == 1000
    tender = body["tenders"][0]
    assert (tender["kind"], tender["amount"], tender["captured"]) == ("card", TOTAL3, 0)
    auth = await db.get(TestGatewayAuthorization, tender["authorization_id"])
    assert auth is not None and (auth.amount, auth.captured, auth.released) == (TOTAL3, 0, 0)
    assert await _reserved(db, shop.skus[0], shop.warehouse) == 1
    by_number = await api.as_("storefront").get(f"/v1/orders/by-number/{body['number'].lower()}")
    assert by_number.status_code == 200 and by_number.json()["id"] == body["id"]


async def test_code_discount_is_allocated_and_kept(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    total = TOTAL3 - 400  # 10 % of 3999 = 399.9 -> 400
    r = await api.as_("contact_center").post("/v1/orders", json=delivery_order(shop.skus, total, codes=["save10"]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["discount_total"], body["total"], body["codes"]) == (400, total, ["SAVE10"])
    assert sum(line["line_total"] for line in body["lines"]) == total
    assert body["channel"] == "contact_center"


async def test_pos_cash_pickup_at_its_store(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    r = await api.as_("pos").post(
        "/v1/orders",
        json={
            "lines": [{"sku": shop.skus[2], "quantity": 2}],
            "fulfillment": {"method": "pickup", "location": shop.store},
            "contact": {"phone": "+49 30 1234567"},
            "tenders": [{"kind": "cash", "amount": 998}],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["channel"], body["store_code"], body["fulfillment"]["location"]) == ("pos", shop.store, shop.store)
    assert body["tenders"][0]["captured"] == 998
    assert await _reserved(db, shop.skus[2], shop.store) == 2


async def test_kiosk_cannot_order_for_another_store(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    r = await api.as_("kiosk").post(
        "/v1/orders",
        json={
            "lines": [{"sku": shop.skus[0], "quantity": 1}],
            "fulfillment": {"method": "pickup", "location": shop.other_store},
            "contact": {"phone": "+49 30 1234567"},
            "tenders": [{"kind": "card", "amount": 1000, "card_token": "tok_visa"}],
        },
    )
    assert r.status_code == 403, r.text
    assert await _orders(db) == 0
    ok = await api.as_("kiosk").post(
        "/v1/orders",
        json={
            "lines": [{"sku": shop.skus[0], "quantity": 1}],
            "fulfillment": {"method": "pickup", "location": shop.store},
            "contact": {"phone": "+49 30 1234567"},
            "tenders": [{"kind": "card", "amount": 1000, "card_token": "tok_visa"}],
        },
    )
    assert ok.status_code == 201, ok.text
    assert (ok.json()["channel"], ok.json()["store_code"]) == ("kiosk", shop.store)


async def test_declined_card_writes_nothing(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    r = await api.as_("app").post("/v1/orders", json=delivery_order(shop.skus, TOTAL3, token="tok_declined"))
    assert r.status_code == 402 and r.json()["code"] == "card_declined"
    assert await _orders(db) == 0
    assert await _reserved(db, shop.skus[0], shop.warehouse) == 0


async def test_gateway_timeout_is_503_and_writes_nothing(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    r = await api.as_("app").post("/v1/orders", json=delivery_order(shop.skus, TOTAL3, token="tok_timeout"))
    assert r.status_code == 503 and r.json()["code"] == "payment_gateway_timeout"
    assert await _orders(db) == 0


async def test_out_of_stock_is_409_naming_lines_and_voids_the_card(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db, warehouse_stock=1)
    body = delivery_order(shop.skus, TOTAL3 + 1000)
    body["lines"] = [
        {"sku": shop.skus[0], "quantity": 2},
        {"sku": shop.skus[1], "quantity": 1},
        {"sku": shop.skus[2], "quantity": 1},
    ]
    r = await api.as_("storefront").post("/v1/orders", json=body)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "insufficient_stock"
    short = next(line for line in problem["extra"]["lines"] if line["sku"] == shop.skus[0])
    assert (short["requested"], short["available"]) == (2, 1)
    assert await _orders(db) == 0
    assert await _reserved(db, shop.skus[1], shop.warehouse) == 0
    auth = (await db.scalars(select(TestGatewayAuthorization))).one()
    assert (auth.amount, auth.released) == (TOTAL3 + 1000, TOTAL3 + 1000)


async def test_bad_input_is_4xx_and_writes_nothing(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    cases = [
        (delivery_order(shop.skus, TOTAL3 - 1), 422, "tenders_do_not_match_total"),
        ({**delivery_order(shop.skus, TOTAL3), "lines": []}, 422, "cart_empty"),
        (
            {
                "lines": [{"sku": shop.skus[0], "quantity": 1}],
                "fulfillment": {"method": "pickup", "location": shop.store_without_pickup},
                "contact": {"phone": "+49 30 1234567"},
                "tenders": [{"kind": "card", "amount": 1000, "card_token": "tok_visa"}],
            },
            422,
            "pickup_not_offered",
        ),
        (delivery_order(shop.skus, TOTAL3, codes=["NOPE"]), 422, "unknown_promotion_code"),
        (
            {
                **delivery_order(shop.skus, TOTAL3),
                "fulfillment": {"method": "delivery", "address": {k: v for k, v in ADDRESS.items() if k != "country"}},
            },
            400,
            "validation_error",
        ),
        ({**delivery_order(shop.skus, TOTAL3), "surprise": 1}, 400, "validation_error"),
        (delivery_order(["NO-SUCH-SKU"], 100), 422, "unknown_sku"),
        ({**delivery_order(shop.skus, TOTAL3), "cart_id": str(uuid.uuid4())}, 422, "lines_or_cart"),
        (
            {**delivery_order(shop.skus, TOTAL3), "tenders": [{"kind": "cash", "amount": TOTAL3}]},
            422,
            "tender_not_allowed",
        ),
    ]
    for body, status, code in cases:
        r = await api.as_("storefront").post("/v1/orders", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (code, r.text)
    assert await _orders(db) == 0
    assert await db.scalar(select(func.count()).select_from(TestGatewayAuthorization)) == 0


async def test_idempotent_retry_returns_same_order(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    first = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus, TOTAL3), headers={"Idempotency-Key": "same"}
    )
    again = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus, TOTAL3), headers={"Idempotency-Key": "same"}
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await _orders(db) == 1
    other = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus[:1], 1000), headers={"Idempotency-Key": "same"}
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
