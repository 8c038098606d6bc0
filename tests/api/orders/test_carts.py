"""Carts over HTTP: priced live, codes, one cart per customer in every channel, merging, expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.models import OutboxEvent
from app.inventory import service as inventory
from app.inventory.models import StockLevel
from app.orders import service
from app.orders.models import Cart
from tests.api.orders.helpers import customer_with_token, random_email
from tests.conftest import Api
from tests.factories.orders import ADDRESS, make_shop


async def test_anonymous_cart_priced_live_with_code(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    created = await api.as_("storefront").post("/v1/carts", json={"lines": [{"sku": shop.skus[0], "quantity": 2}]})
    assert created.status_code == 201, created.text
    cart = created.json()
    assert (cart["status"], cart["customer_id"], cart["channel"], cart["total"]) == ("open", None, "web", 2000)
    added = await api.as_("storefront").post(f"/v1/carts/{cart['id']}/lines", json={"sku": shop.skus[2], "quantity": 1})
    assert added.status_code == 200 and added.json()["total"] == 2499
    coded = await api.as_("storefront").post(f"/v1/carts/{cart['id']}/codes", json={"code": "save10"})
    assert coded.status_code == 200, coded.text
    assert (coded.json()["discount_total"], coded.json()["total"]) == (250, 2249)
    assert coded.json()["codes"] == [{"code": "SAVE10", "applied": True, "reason": "applied"}]
    unknown = await api.as_("storefront").post(f"/v1/carts/{cart['id']}/codes", json={"code": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_promotion_code"
    removed = await api.as_("storefront").put(f"/v1/carts/{cart['id']}/lines/{shop.skus[0]}", json={"quantity": 0})
    assert [line["sku"] for line in removed.json()["lines"]] == [shop.skus[2]]
    bad = await api.as_("storefront").post(f"/v1/carts/{cart['id']}/lines", json={"sku": shop.skus[0], "quantity": 0})
    assert bad.status_code == 400


async def test_customer_cart_is_one_cart_in_every_channel_and_orders(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    customer_id, token = await customer_with_token(api, random_email(), "app")
    app_cart = await api.as_("app").post(
        "/v1/carts",
        json={"customer_id": customer_id, "lines": [{"sku": shop.skus[0], "quantity": 1}]},
        headers={"X-Customer-Token": token},
    )
    assert app_cart.status_code == 201, app_cart.text
    # The website key has no token of this customer: refused.
    assert (await api.as_("storefront").get(f"/v1/customers/{customer_id}/cart")).status_code == 403
    # The kiosk (physical presence) continues the same cart.
    kiosk_view = await api.as_("kiosk").get(f"/v1/customers/{customer_id}/cart")
    assert kiosk_view.status_code == 200 and kiosk_view.json()["id"] == app_cart.json()["id"]
    await api.as_("kiosk").post(f"/v1/carts/{app_cart.json()['id']}/lines", json={"sku": shop.skus[1], "quantity": 1})
    placed = await api.as_("kiosk").post(
        "/v1/orders",
        json={
            "cart_id": app_cart.json()["id"],
            "fulfillment": {"method": "pickup", "location": shop.store},
            "contact": {"phone": "+49 30 1234567"},
            "tenders": [{"kind": "card", "amount": 3500, "card_token": "tok_visa"}],
        },
    )
    assert placed.status_code == 201, placed.text
    assert (placed.json()["customer_id"], placed.json()["channel"]) == (customer_id, "kiosk")
    closed = await api.as_("app").get(f"/v1/carts/{app_cart.json()['id']}", headers={"X-Customer-Token": token})
    assert (closed.json()["status"], closed.json()["order_id"]) == ("ordered", placed.json()["id"])
    again = await api.as_("kiosk").post(
        "/v1/orders",
        json={
            "cart_id": app_cart.json()["id"],
            "fulfillment": {"method": "pickup", "location": shop.store},
            "contact": {"phone": "+49 30 1234567"},
            "tenders": [{"kind": "card", "amount": 3500, "card_token": "tok_visa"}],
        },
    )
    assert again.status_code == 409 and again.json()["code"] == "cart_not_open"
    fresh = await api.as_("app").get(f"/v1/customers/{customer_id}/cart", headers={"X-Customer-Token": token})
    assert fresh.json()["id"] != app_cart.json()["id"] and fresh.json()["lines"] == []


async def test_assigning_anonymous_cart_merges_lines(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    customer_id, token = await customer_with_token(api, random_email())
    headers = {"X-Customer-Token": token}
    mine = await api.as_("storefront").post(
        "/v1/carts", json={"customer_id": customer_id, "lines": [{"sku": shop.skus[0], "quantity": 1}]}, headers=headers
    )
    anonymous = await api.as_("storefront").post(
        "/v1/carts", json={"lines": [{"sku": shop.skus[0], "quantity": 2}, {"sku": shop.skus[1], "quantity": 1}]}
    )
    merged = await api.as_("storefront").post(
        f"/v1/carts/{anonymous.json()['id']}/assign", json={"customer_id": customer_id}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == mine.json()["id"]
    assert {(line["sku"], line["quantity"]) for line in merged.json()["lines"]} == {
        (shop.skus[0], 3),
        (shop.skus[1], 1),
    }
    gone = await api.as_("storefront").get(f"/v1/carts/{anonymous.json()['id']}", headers=headers)
    assert (gone.json()["status"], gone.json()["merged_into"]) == ("merged", mine.json()["id"])


async def test_idle_carts_expire_and_release_their_holds(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    created = await api.as_("kiosk").post("/v1/carts", json={"lines": [{"sku": shop.skus[0], "quantity": 1}]})
    cart_id = created.json()["id"]
    # A kiosk hold on the cart's stock (inventory's reservation under the cart's reference).
    await inventory.reserve(db, reference=f"cart:{cart_id}", lines=[(shop.skus[0], shop.store, 1)])
    level = select(StockLevel.reserved).where(StockLevel.sku == shop.skus[0], StockLevel.location_code == shop.store)
    assert await db.scalar(level) == 1
    assert await service.expire_carts(db) == 0
    clock.advance(timedelta(days=8))
    assert await service.expire_carts(db) == 1
    assert (await db.get(Cart, created.json()["id"], populate_existing=True)).status == "expired"  # type: ignore[union-attr]
    assert await db.scalar(level) == 0
    events = (await db.scalars(select(OutboxEvent.type).where(OutboxEvent.aggregate_id == cart_id))).all()
    assert events == ["cart.expired"]
    assert ADDRESS["country"] == "FR"
