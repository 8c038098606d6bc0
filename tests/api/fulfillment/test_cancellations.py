"""A customer cancels (orders' `/cancel`): fulfillment's open fulfillment orders give the units
up and exactly the reservations holding them are released — a line split over two
warehouses, units re-sourced under their own reference, a walk under way, a pickup fed by a
warehouse. Picked units cannot be cancelled. After each, `oms check` is clean."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.orders import service as orders
from app.orders.payments.models import TestGatewayAuthorization
from app.pricing import service as pricing
from app.pricing.models import PromotionCode, Redemption
from app.pricing.rules import Kind
from app.pricing.schemas import CodesCreate, PromotionCreate
from tests.api.fulfillment.conftest import PRICE, assert_clean, events, ledger, location, order_body, retailer, stock
from tests.conftest import Api

LYON = (45.7640, 4.8357)
LILLE = (50.6292, 3.0573)
LOUVRE = (48.8606, 2.3376)


async def fos_of(api: Api, order_id: str) -> dict[str, dict[str, Any]]:
    r = await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order_id})
    assert r.status_code == 200, r.text
    return {f"{fo['location_code']}/{fo['type']}": fo for fo in r.json()["items"]}


def lines_of(fo: dict[str, Any]) -> list[tuple[str, int]]:
    return [(ln["line_id"], ln["quantity"]) for ln in fo["lines"]]


async def cancel(api: Api, order_id: str, lines: list[dict[str, int]] | None = None) -> Any:
    body: dict[str, Any] = {"reason": "changed mind"}
    if lines is not None:
        body["lines"] = lines
    return await api.as_("contact_center").post(f"/v1/orders/{order_id}/cancel", json=body)


async def ten_percent_code(db: AsyncSession) -> None:
    promo = await pricing.create_promotion(
        db,
        PromotionCreate(
            kind=Kind.ORDER_PERCENT_OFF,
            name="Ten off",
            starts_at=clock.now() - timedelta(hours=1),
            percent_bp=1000,
            requires_code=True,
        ),
    )
    await pricing.add_codes(db, promo.id, CodesCreate(code="SAVE10"))


async def test_split_order_cancelled_line_by_line_puts_everything_back(
    api: Api, db: AsyncSession, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 2, b: 5})
    await location(db, "WH-TWO", "warehouse", *LILLE, {a: 2})
    await ten_percent_code(db)
    await db.commit()
    created = await api.as_("contact_center").post("/v1/customers", json={"name": "Ada"})
    customer_id, card = created.json()["id"], created.json()["card_number"]
    gift = await api.as_("admin").post(f"/v1/loyalty/cards/{card}/adjustments", json={"points": 1000, "reason": "gift"})
    assert gift.status_code == 201, gift.text
    # 3 a + 1 b = 40.00, 10 % off = 36.00: line 1 = 27.00, line 2 = 9.00; 6.00 in points.
    body = order_body({a: 3, b: 1}, codes=["SAVE10"], customer_id=customer_id)
    body["tenders"] = [
        {"kind": "loyalty_points", "amount": 600, "loyalty_card": card},
        {"kind": "card", "amount": 3000, "card_token": "tok_visa"},
    ]
    r = await api.as_("contact_center").post("/v1/orders", json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["total"] == 3600
    fos = await fos_of(api, order["id"])
    assert {k: lines_of(fo) for k, fo in fos.items()} == {
        "WH-TEST/delivery": [("1", 2), ("2", 1)],
        "WH-TWO/delivery": [("1", 1)],
    }
    assert (await stock(db, a, "WH-TEST"), await stock(db, a, "WH-TWO")) == ((2, 2), (2, 1))

    # One unit of the split line: WH-TWO's whole parcel goes away, its reservation with it.
    one = await cancel(api, order["id"], [{"line_no": 1, "quantity": 1}])
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "released_to_fulfillment"
    assert [ln["cancelled_quantity"] for ln in one.json()["lines"]] == [1, 0]
    fos = await fos_of(api, order["id"])
    assert (fos["WH-TWO/delivery"]["status"], fos["WH-TEST/delivery"]["status"]) == ("cancelled", "created")
    assert lines_of(fos["WH-TEST/delivery"]) == [("1", 2), ("2", 1)]
    assert (await stock(db, a, "WH-TEST"), await stock(db, a, "WH-TWO")) == ((2, 2), (2, 0))
    tenders = {t["kind"]: t for t in one.json()["tenders"]}
    assert (tenders["card"]["released"], tenders["loyalty_points"]["refunded"]) == (900, 0)
    assert await orders.settle_payments(db_maker, uuid.UUID(order["id"])) == 1
    await assert_clean(db)

    # The rest: the other parcel is cancelled, everything is back where it was.
    rest = await cancel(api, order["id"])
    assert rest.status_code == 200, rest.text
    assert rest.json()["status"] == "cancelled"
    assert [ln["cancelled_quantity"] for ln in rest.json()["lines"]] == [3, 1]
    fos = await fos_of(api, order["id"])
    assert [fo["status"] for fo in fos.values()] == ["cancelled", "cancelled"]
    assert await stock(db, a, "WH-TEST") == (2, 0)
    assert await stock(db, b, "WH-TEST") == (5, 0)
    assert await stock(db, a, "WH-TWO") == (2, 0)
    assert await ledger(db, a, "WH-TWO") == [("receipt", 2)]  # reservations never touch on_hand
    tenders = {t["kind"]: t for t in rest.json()["tenders"]}
    assert (tenders["card"]["released"], tenders["loyalty_points"]["refunded"]) == (3000, 600)
    assert await orders.settle_payments(db_maker, uuid.UUID(order["id"])) == 1
    auth = await db.get(TestGatewayAuthorization, tenders["card"]["authorization_id"], populate_existing=True)
    assert auth is not None and (auth.released, auth.captured) == (3000, 0)
    code = await db.get(PromotionCode, "SAVE10", populate_existing=True)
    assert code is not None and code.times_used == 0
    redemption = await db.scalar(select(Redemption).where(Redemption.order_id == uuid.UUID(order["id"])))
    assert redemption is not None and redemption.given_back_at is not None
    view = (await api.as_("contact_center").get(f"/v1/loyalty/cards/{card}")).json()
    assert view["available"] == 1000
    ledger_rows = [(e["kind"], e["points"], e["channel"]) for e in view["ledger"]["items"]]
    assert ledger_rows == [
        ("restore", 600, "contact_center"),
        ("redeem", -600, "contact_center"),
        ("adjust", 1000, None),
    ]
    assert [e["fulfillment_order_id"] for e in await events(db, "fulfillment.cancelled")] == [
        fos["WH-TWO/delivery"]["id"],
        fos["WH-TEST/delivery"]["id"],
    ]
    await assert_clean(db)


async def test_re_sourced_units_are_released_under_their_own_reference_and_picked_ones_stay(
    api: Api, db: AsyncSession
) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 5, b: 5})
    await location(db, "WH-TWO", "warehouse", *LILLE, {a: 5})
    await db.commit()
    r = await api.as_("storefront").post("/v1/orders", json=order_body({a: 3, b: 1}))
    assert r.status_code == 201, r.text
    order = r.json()
    logistics = api.as_("logistics")
    pick_list = (await logistics.post("/v1/pick-lists", json={})).json()
    found = [{"sku": a, "found": 1}, {"sku": b, "found": 1}]
    confirmed = await logistics.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})
    assert confirmed.status_code == 200, confirmed.text
    fos = await fos_of(api, order["id"])
    assert (fos["WH-TEST/delivery"]["status"], fos["WH-TWO/delivery"]["status"]) == ("picked", "created")
    assert await stock(db, a, "WH-TWO") == (5, 2)  # held under the re-sourcing's own reference

    # The picked unit of line 1 cannot be cancelled: 409, nothing changes.
    too_many = await cancel(api, order["id"], [{"line_no": 1, "quantity": 3}])
    assert (too_many.status_code, too_many.json()["code"]) == (409, "invalid_transition"), too_many.text
    assert too_many.json()["extra"]["cancellable"] == 2
    assert await stock(db, a, "WH-TWO") == (5, 2)
    whole = await cancel(api, order["id"])
    assert (whole.status_code, whole.json()["code"]) == (409, "invalid_transition")

    two = await cancel(api, order["id"], [{"line_no": 1, "quantity": 2}])
    assert two.status_code == 200, two.text
    assert await stock(db, a, "WH-TWO") == (5, 0)
    assert await stock(db, a, "WH-TEST") == (3, 1)  # the picked unit is still held for its parcel
    fos = await fos_of(api, order["id"])
    assert fos["WH-TWO/delivery"]["status"] == "cancelled"
    await assert_clean(db)

    fo = fos["WH-TEST/delivery"]
    packed = await logistics.post(
        f"/v1/fulfillment-orders/{fo['id']}/pack", json={"parcels": [{"carrier": "dhl", "tracking_number": "D-1"}]}
    )
    assert packed.status_code == 200, packed.text
    shipped = await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert shipped.status_code == 200, shipped.text
    final = (await api.as_("storefront").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "fulfilled"
    assert [(ln["cancelled_quantity"], ln["fulfilled_quantity"]) for ln in final["lines"]] == [(2, 1), (0, 1)]
    assert final["tenders"][0]["captured"] == 2 * PRICE
    assert final["tenders"][0]["released"] == 2 * PRICE
    assert await ledger(db, a, "WH-TEST") == [("receipt", 5), ("cycle_count", -2), ("sale", -1)]
    assert await stock(db, a, "WH-TEST") == (2, 0)
    await assert_clean(db)


async def test_units_cancelled_during_the_walk_stay_on_the_shelf(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 5})
    await db.commit()
    order = (await api.as_("storefront").post("/v1/orders", json=order_body({a: 3}))).json()
    logistics = api.as_("logistics")
    pick_list = (await logistics.post("/v1/pick-lists", json={})).json()
    fo = (await fos_of(api, order["id"]))["WH-TEST/delivery"]
    assert fo["status"] == "assigned"
    r = await cancel(api, order["id"], [{"line_no": 1, "quantity": 2}])
    assert r.status_code == 200, r.text
    fo = (await fos_of(api, order["id"]))["WH-TEST/delivery"]
    assert (fo["status"], lines_of(fo)) == ("assigned", [("1", 1)])
    assert await stock(db, a, "WH-TEST") == (5, 1)
    [reduced] = await events(db, "fulfillment.reduced")
    assert reduced["lines"] == [{"line_id": "1", "quantity": 2}]
    # The picker found all three: one goes to the parcel, two stay on the shelf.
    confirmed = await logistics.post(
        f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": [{"sku": a, "found": 3}]}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmation"]["short"] == {}
    fo = (await fos_of(api, order["id"]))["WH-TEST/delivery"]
    assert (fo["status"], fo["lines"][0]["picked_quantity"]) == ("picked", 1)
    assert await stock(db, a, "WH-TEST") == (5, 1)
    late = await cancel(api, order["id"])
    assert (late.status_code, late.json()["code"]) == (409, "invalid_transition")
    await assert_clean(db)


async def test_cancelling_the_line_a_pickup_waits_for_frees_the_warehouse_and_opens_the_pickup(
    api: Api, db: AsyncSession
) -> None:
    shop = await retailer(db, 2)
    here, missing = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {here: 1})
    await location(db, "WH-TEST", "warehouse", *LYON, {missing: 4})
    await db.commit()
    r = await api.as_("app").post("/v1/orders", json=order_body({here: 1, missing: 2}, pickup="STORE-TEST"))
    assert r.status_code == 201, r.text
    order = r.json()
    fos = await fos_of(api, order["id"])
    assert fos["STORE-TEST/pickup"]["status"] == "awaiting_transfer"
    assert await stock(db, missing, "WH-TEST") == (4, 2)
    line_no = next(ln["line_no"] for ln in order["lines"] if ln["sku"] == missing)
    r = await cancel(api, order["id"], [{"line_no": line_no, "quantity": 2}])
    assert r.status_code == 200, r.text
    fos = await fos_of(api, order["id"])
    assert fos["WH-TEST/ship_to_store"]["status"] == "cancelled"
    pickup = fos["STORE-TEST/pickup"]
    assert (pickup["status"], [ln["sku"] for ln in pickup["lines"]]) == ("created", [here])
    assert await stock(db, missing, "WH-TEST") == (4, 0)
    assert await stock(db, here, "STORE-TEST") == (1, 1)
    await assert_clean(db)
