"""At the pickup counter, a customer without the code shows the order number and their
loyalty card or phone instead; wrong answers of either kind count toward the same lock."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment.models import FulfillmentOrder
from tests.api.fulfillment.conftest import assert_clean, location, order_body, retailer, stock
from tests.conftest import Api

LOUVRE = (48.8606, 2.3376)
PHONE = "+33 6 12 34 56 78"


async def ready_pickup(api: Api, customer_id: str | None, sku: str) -> tuple[dict[str, Any], str]:
    """A contact-center pickup order at STORE-TEST, picked and ready: (order, FO id)."""
    body = order_body({sku: 1}, pickup="STORE-TEST", **({"customer_id": customer_id} if customer_id else {}))
    r = await api.as_("contact_center").post("/v1/orders", json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    [fo] = (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order["id"]})).json()["items"]
    pos = api.as_("pos")
    pick_list = (await pos.post("/v1/pick-lists", json={})).json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    assert (await pos.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})).status_code == 200
    ready = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/ready")
    assert ready.status_code == 200, ready.text
    return order, fo["id"]


async def collect(api: Api, fo_id: str, body: dict[str, Any]) -> Any:
    return await api.as_("pos").post(f"/v1/fulfillment-orders/{fo_id}/collect", json=body)


async def attempts(db: AsyncSession, fo_id: str) -> int:
    fo = await db.get(FulfillmentOrder, fo_id, populate_existing=True)
    assert fo is not None
    return fo.code_attempts


async def test_order_number_with_the_card_or_the_phone_hands_the_pickup_over(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 5})
    await db.commit()
    ada = (await api.as_("contact_center").post("/v1/customers", json={"name": "Ada", "phone": PHONE})).json()
    bob = (await api.as_("contact_center").post("/v1/customers", json={"name": "Bob"})).json()
    order, fo_id = await ready_pickup(api, ada["id"], a)
    number = order["number"]

    # Malformed bodies are refused before anything is counted.
    for bad in (
        {},
        {"order_number": number},
        {"code": "123456", "order_number": number},
        {"order_number": number, "card_number": ada["card_number"], "phone": PHONE},
        {"card_number": ada["card_number"]},
        {"order_number": number, "phone": PHONE, "pin": "1"},
    ):
        r = await collect(api, fo_id, bad)
        assert r.status_code == 400, (bad, r.text)
    assert await attempts(db, fo_id) == 0

    wrong = [
        ({"order_number": number, "card_number": bob["card_number"]}, 4),  # someone else's card
        ({"order_number": number, "phone": "+33 6 99 99 99 99"}, 3),  # someone else's phone
        ({"order_number": "ZZZZZZZZ", "card_number": ada["card_number"]}, 2),  # another number
        ({"order_number": number, "card_number": "12345"}, 1),  # not a card number at all
    ]
    for body, left in wrong:
        r = await collect(api, fo_id, body)
        assert (r.status_code, r.json()["code"], r.json()["extra"]["attempts_left"]) == (
            422,
            "wrong_pickup_code",
            left,
        ), body
    assert await attempts(db, fo_id) == 4

    # The clerk types the number as read off the receipt: lower case, a dash.
    typed = f"{number[:4].lower()}-{number[4:].lower()}"
    r = await collect(api, fo_id, {"order_number": typed, "phone": "+33612345678"})
    assert r.status_code == 200 and r.json()["status"] == "collected", r.text
    assert (await api.as_("contact_center").get(f"/v1/orders/{order['id']}")).json()["status"] == "completed"
    again = await collect(api, fo_id, {"order_number": number, "phone": PHONE})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")

    second, second_fo = await ready_pickup(api, ada["id"], a)
    r = await collect(api, second_fo, {"order_number": second["number"], "card_number": ada["card_number"]})
    assert r.status_code == 200 and r.json()["status"] == "collected", r.text
    assert await stock(db, a, "STORE-TEST") == (3, 0)
    view = (await api.as_("contact_center").get(f"/v1/fulfillment-orders/by-order/{order['id']}")).json()
    assert [e["kind"] for e in view["events"]].count("wrong_pickup_identity") == 4
    await assert_clean(db)


async def test_wrong_codes_and_wrong_identities_lock_the_pickup_together(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 5})
    await db.commit()
    ada = (await api.as_("contact_center").post("/v1/customers", json={"name": "Ada", "phone": PHONE})).json()
    order, fo_id = await ready_pickup(api, ada["id"], a)
    for _ in range(2):
        r = await collect(api, fo_id, {"code": "000000"})
        assert r.status_code == 422
    for _ in range(2):
        r = await collect(api, fo_id, {"order_number": order["number"], "phone": "+33 6 99 99 99 99"})
        assert r.status_code == 422
    last = await collect(api, fo_id, {"code": "abc"})
    assert (last.status_code, last.json()["code"]) == (423, "pickup_locked")
    right = await collect(api, fo_id, {"order_number": order["number"], "phone": PHONE})
    assert (right.status_code, right.json()["code"]) == (423, "pickup_locked")
    assert await attempts(db, fo_id) == 5

    # A guest order has no card or phone to show: only its code hands it over.
    guest, guest_fo = await ready_pickup(api, None, a)
    r = await collect(api, guest_fo, {"order_number": guest["number"], "phone": PHONE})
    assert (r.status_code, r.json()["extra"]["attempts_left"]) == (422, 4)
    await assert_clean(db)
