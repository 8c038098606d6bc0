"""Small leaks: an order number at another store tells nothing; shopper-facing keys list only
running promotions that need no code and prices in force, staff see everything."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.pricing.rules import Kind
from tests.conftest import Api
from tests.factories.orders import delivery_order, make_shop
from tests.factories.pricing import promotion


async def test_an_order_number_of_another_store_answers_a_plain_404(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    placed = await api.as_("storefront").post("/v1/orders", json=delivery_order(shop.skus[:1], 1000))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    unknown = await api.as_("pos").get("/v1/orders/by-number/ZZZZ9999")
    # Another store's till finds it: returns are taken at any till (issue 14, POS journey).
    assert (await api.as_("pos").get(f"/v1/orders/by-number/{order['number']}")).status_code == 200
    for label in ("kiosk", "app"):  # another store's kiosk, another storefront's key
        foreign = await api.as_(label).get(f"/v1/orders/by-number/{order['number']}")
        assert foreign.status_code == 404, (label, foreign.text)
        assert order["id"] not in foreign.text
        # the same answer as a number that does not exist (only `instance`, the path asked, differs)
        same = ("status", "code", "type", "title", "detail")
        assert {k: foreign.json().get(k) for k in same} == {k: unknown.json().get(k) for k in same}
    assert (await api.as_("contact_center").get(f"/v1/orders/by-number/{order['number']}")).status_code == 200


async def test_shopper_keys_list_only_running_promotions_without_a_code(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)  # brings SAVE10, which needs a code
    live = await promotion(db, Kind.ORDER_PERCENT_OFF, name="Live", percent_bp=500)
    future = await promotion(
        db, Kind.ORDER_PERCENT_OFF, name="Tomorrow", percent_bp=500, starts_at=clock.now() + timedelta(days=1)
    )
    ended = await promotion(
        db,
        Kind.ORDER_PERCENT_OFF,
        name="Ended",
        percent_bp=500,
        starts_at=clock.now() - timedelta(days=2),
        ends_at=clock.now() - timedelta(days=1),
    )
    coded = await promotion(db, Kind.ORDER_PERCENT_OFF, name="Secret", percent_bp=5000, code="STAFF50")
    till_only = await promotion(db, Kind.ORDER_PERCENT_OFF, name="Till", percent_bp=500, channels=["pos"])
    await db.flush()
    hidden = {str(p.id) for p in (future, ended, coded, till_only)}
    for label in ("storefront", "app", "kiosk"):
        listed = await api.as_(label).get("/v1/promotions", params={"limit": 100})
        assert listed.status_code == 200, listed.text
        names = {p["name"] for p in listed.json()["items"]}
        assert names == {"Live"}, (label, names)
        for promotion_id in hidden:
            assert (await api.as_(label).get(f"/v1/promotions/{promotion_id}")).status_code == 404
        assert (await api.as_(label).get(f"/v1/promotions/{live.id}")).status_code == 200
    staff = await api.as_("merchandiser").get("/v1/promotions", params={"limit": 100})
    assert {"Live", "Tomorrow", "Ended", "Secret", "Till", "Ten off"} <= {p["name"] for p in staff.json()["items"]}
    assert (await api.as_("admin").get(f"/v1/promotions/{coded.id}")).status_code == 200
    assert shop.skus


async def test_shopper_keys_do_not_see_scheduled_prices(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    sku = shop.skus[0]
    scheduled = await api.as_("merchandiser").post(
        "/v1/prices",
        json={
            "sku": sku,
            "currency": "EUR",
            "amount": 799,
            "valid_from": (clock.now() + timedelta(days=3)).isoformat(),
        },
    )
    assert scheduled.status_code == 201, scheduled.text
    for label in ("storefront", "app", "kiosk"):
        prices = (await api.as_(label).get("/v1/prices", params={"sku": sku})).json()["items"]
        assert [p["amount"] for p in prices] == [1000], label
    staff = (await api.as_("merchandiser").get("/v1/prices", params={"sku": sku})).json()["items"]
    assert [p["amount"] for p in staff] == [799, 1000]
