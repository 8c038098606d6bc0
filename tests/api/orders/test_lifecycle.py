"""After placement: holds, cancellation, fulfillment progress and captures, timeline, lists,
access rules, customer merges."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.inventory.models import StockLevel
from app.orders import service
from app.orders.payments.models import TestGatewayAuthorization
from tests.api.orders.helpers import customer_with_token, random_email
from tests.conftest import Api
from tests.factories.orders import delivery_order, make_shop

TOTAL3 = 3999


async def _place(
    api: Api, skus: list[str], total: int = TOTAL3, label: str = "contact_center", **extra: object
) -> dict:  # type: ignore[type-arg]
    r = await api.as_(label).post("/v1/orders", json=delivery_order(skus, total, **extra))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _reserved(db: AsyncSession, sku: str, location: str) -> int:
    q = select(StockLevel.reserved).where(StockLevel.sku == sku, StockLevel.location_code == location)
    return int(await db.scalar(q) or 0)


async def test_holds_stop_release_until_all_are_lifted(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = await _place(api, shop.skus)
    url = f"/v1/orders/{order['id']}"
    fraud = await api.as_("contact_center").post(f"{url}/holds", json={"type": "fraud_review", "reason": "odd address"})
    assert fraud.status_code == 201, fraud.text
    manual = await api.as_("admin").post(f"{url}/holds", json={"type": "manual", "reason": "call back"})
    assert (await api.as_("contact_center").get(url)).json()["status"] == "on_hold"
    assert await _reserved(db, shop.skus[0], shop.warehouse) == 1  # a held order keeps its stock
    lifted = await api.as_("contact_center").post(f"{url}/holds/{fraud.json()['id']}/lift", json={"note": "ok"})
    assert lifted.json()["status"] == "on_hold"
    again = await api.as_("contact_center").post(f"{url}/holds/{fraud.json()['id']}/lift", json={})
    assert again.status_code == 409 and again.json()["code"] == "hold_already_lifted"
    last = await api.as_("admin").post(f"{url}/holds/{manual.json()['id']}/lift", json={})
    assert last.json()["status"] == "released_to_fulfillment"
    assert [h["lifted_at"] is not None for h in last.json()["holds"]] == [True, True]
    bad = await api.as_("contact_center").post(f"{url}/holds", json={"type": "whim", "reason": "x"})
    assert bad.status_code == 400
    kinds = [e["kind"] for e in (await api.as_("contact_center").get(f"{url}/timeline")).json()["items"]]
    assert kinds == ["placed", "released", "hold", "hold", "hold_lifted", "hold_lifted", "release"]


async def test_cancel_whole_order_releases_stock_and_card_and_gives_code_back(
    api: Api, db: AsyncSession, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    shop = await make_shop(db)
    order = await _place(api, shop.skus, TOTAL3 - 400, codes=["SAVE10"])
    url = f"/v1/orders/{order['id']}"
    r = await api.as_("contact_center").post(f"{url}/cancel", json={"reason": "changed mind"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "changed mind")
    assert [line["cancelled_quantity"] for line in body["lines"]] == [1, 1, 1]
    assert body["tenders"][0]["released"] == TOTAL3 - 400
    assert await _reserved(db, shop.skus[0], shop.warehouse) == 0
    assert await service.settle_payments(db_maker, uuid.UUID(order["id"])) == 1
    auth = await db.get(TestGatewayAuthorization, body["tenders"][0]["authorization_id"], populate_existing=True)
    assert auth is not None and (auth.released, auth.captured) == (TOTAL3 - 400, 0)
    assert await service.settle_payments(db_maker, uuid.UUID(order["id"])) == 0  # caught up: no second call
    twice = await api.as_("contact_center").post(f"{url}/cancel", json={"reason": "again"})
    assert twice.status_code == 422 and twice.json()["code"] == "nothing_to_cancel"


async def test_partial_cancel_then_shipment_captures_only_what_left(
    api: Api, db: AsyncSession, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    shop = await make_shop(db)
    order = await _place(api, shop.skus)
    order_id = uuid.UUID(order["id"])
    r = await api.as_("contact_center").post(
        f"/v1/orders/{order_id}/cancel", json={"reason": "out of blue", "lines": [{"line_no": 2, "quantity": 1}]}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["tenders"][0]["released"]) == ("released_to_fulfillment", 2500)
    too_many = await api.as_("contact_center").post(
        f"/v1/orders/{order_id}/cancel", json={"reason": "x", "lines": [{"line_no": 2, "quantity": 1}]}
    )
    assert too_many.status_code == 422
    shipped = await service.record_fulfillment_progress(db, order_id, {1: 1}, event="lines_shipped")
    assert shipped.status == "partially_fulfilled"
    done = await service.record_fulfillment_progress(db, order_id, {3: 1}, event="lines_shipped")
    assert (done.status, done.tenders[0].captured) == ("fulfilled", 1499)
    assert await service.settle_payments(db_maker, order_id) == 2
    auth = await db.get(TestGatewayAuthorization, done.tenders[0].authorization_id, populate_existing=True)
    assert auth is not None and (auth.captured, auth.released) == (1499, 2500)
    late = await api.as_("contact_center").post(f"/v1/orders/{order_id}/cancel", json={"reason": "late"})
    assert late.status_code == 422
    completed = await service.complete(db, order_id)
    assert completed.status == "completed"
    hold = await api.as_("admin").post(f"/v1/orders/{order_id}/holds", json={"type": "manual", "reason": "x"})
    assert hold.status_code == 409 and hold.json()["code"] == "invalid_transition"


async def test_storefront_sees_only_its_customers_orders(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    ada, ada_token = await customer_with_token(api, random_email())
    bob, bob_token = await customer_with_token(api, random_email())
    hers = {"X-Customer-Token": ada_token}
    anonymous = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus[:1], 1000, customer_id=ada)
    )
    assert anonymous.status_code == 403
    placed = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(shop.skus[:1], 1000, customer_id=ada), headers=hers
    )
    assert placed.status_code == 201, placed.text
    mine = placed.json()
    assert mine["customer_id"] == ada
    assert (await api.as_("storefront").get(f"/v1/orders/{mine['id']}", headers=hers)).status_code == 200
    other = await api.as_("storefront").get(f"/v1/orders/{mine['id']}", headers={"X-Customer-Token": bob_token})
    assert other.status_code == 403
    listed = await api.as_("storefront").get("/v1/orders", params={"customer_id": ada}, headers=hers)
    assert [o["id"] for o in listed.json()["items"]] == [mine["id"]]
    refused = await api.as_("storefront").get(
        "/v1/orders", params={"customer_id": ada}, headers={"X-Customer-Token": bob_token}
    )
    assert refused.status_code == 403
    assert (await api.as_("storefront").get("/v1/orders")).status_code == 403
    assert bob


async def test_list_filters_and_cursor(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    placed = [await _place(api, shop.skus[:1], 1000) for _ in range(3)]
    pos = await api.as_("pos").post(
        "/v1/orders",
        json={
            "lines": [{"sku": shop.skus[2], "quantity": 1}],
            "fulfillment": {"method": "pickup", "location": shop.store},
            "contact": {"phone": "+49 30 1234567"},
            "tenders": [{"kind": "cash", "amount": 499}],
        },
    )
    assert pos.status_code == 201, pos.text
    page1 = await api.as_("admin").get("/v1/orders", params={"channel": "contact_center", "limit": 2})
    assert [o["id"] for o in page1.json()["items"]] == [placed[2]["id"], placed[1]["id"]]
    page2 = await api.as_("admin").get(
        "/v1/orders", params={"channel": "contact_center", "limit": 2, "cursor": page1.json()["next_cursor"]}
    )
    assert [o["id"] for o in page2.json()["items"]] == [placed[0]["id"]] and page2.json()["next_cursor"] is None
    store = await api.as_("pos").get("/v1/orders")
    assert [o["id"] for o in store.json()["items"]] == [pos.json()["id"]]
    other = await api.as_("pos").get("/v1/orders", params={"store": shop.other_store})
    assert other.status_code == 403
    naive = await api.as_("admin").get("/v1/orders", params={"placed_from": "2020-01-01T00:00:00"})
    assert naive.status_code in (400, 422)
    assert (await api.as_("admin").get("/v1/orders", params={"status": "nope"})).status_code == 400
    forged = await api.as_("admin").get("/v1/orders", params={"cursor": "WyJ4IiwieSJd"})  # ["x","y"]
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_cursor"


async def test_merge_moves_orders_and_history_lists_them(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    ada, _ = await customer_with_token(api, random_email(), "app")
    dup, _ = await customer_with_token(api, random_email(), "app")
    order = await _place(api, shop.skus[:1], 1000, customer_id=dup)
    merged = await api.as_("contact_center").post(f"/v1/customers/{ada}/merge", json={"absorb": dup})
    assert merged.status_code == 200, merged.text
    moved = await api.as_("contact_center").get(f"/v1/orders/{order['id']}")
    assert moved.json()["customer_id"] == ada
    overview = await api.as_("contact_center").get(f"/v1/customers/{ada}/overview")
    history = [(h["kind"], h["number"]) for h in overview.json()["history"]]
    assert ("order", order["number"]) in history
