"""Journey: the customer brings a parcel to a store's till before the carrier has reported it
delivered. The customer presenting the goods is proof of delivery for those units: the POS
key alone records them delivered ("presented at STORE-TEST by the customer") and takes the
return as usual — refund to the original tender, points reversed. Units that were never
shipped cannot come back (422 `not_shipped`), and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment.models import FulfillmentEvent
from tests.api.journeys.test_pos_returns_a_web_order import _earn_from_events
from tests.api.returns.conftest import (
    SHIRT_PRICE,
    delivery_body,
    ledger,
    make_shop,
    place,
    returns_count,
)
from tests.conftest import Api

PRESENTED = "delivered: presented at STORE-TEST by the customer"


async def _customer(api: Api) -> tuple[dict[str, Any], dict[str, str]]:
    created = await api.as_("contact_center").post(
        "/v1/customers", json={"name": "Grace Hopper", "phone": "+33 6 98 76 54 32"}
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    token = (await api.as_("storefront").post(f"/v1/customers/{customer['id']}/tokens")).json()["token"]
    return customer, {"X-Customer-Token": token}


async def _fulfillment_order(api: Api, order_id: str) -> dict[str, Any]:
    [fo] = (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order_id})).json()["items"]
    return dict(fo)


async def _ship_without_news(api: Api, order: dict[str, Any]) -> str:
    """The warehouse picks, packs and ships; the carrier says nothing yet. The tracking number."""
    logistics = api.as_("logistics")
    fo = await _fulfillment_order(api, order["id"])
    pick_list = (await logistics.post("/v1/pick-lists", json={})).json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    assert (await logistics.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})).status_code == 200
    tracking = f"CP{uuid.uuid4().hex[:10].upper()}"
    parcels = {"parcels": [{"carrier": "colissimo", "tracking_number": tracking}]}
    assert (await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/pack", json=parcels)).status_code == 200
    shipped = await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped", shipped.text
    return tracking


def _return(order: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {
        "order_number": order["number"],
        "mode": "immediate",
        "reason": "does not fit",
        "lines": [{"line_no": 1, "quantity": quantity, "disposition": "restock"}],
    }


async def test_a_till_takes_back_a_parcel_the_carrier_has_not_reported_delivered(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    customer, token = await _customer(api)
    order = await place(
        api, "storefront", delivery_body({shop.small: 2}, 2 * SHIRT_PRICE, customer_id=customer["id"]), token
    )
    tracking = await _ship_without_news(api, order)
    pos = api.as_("pos")

    # What the till sees first: the order, shipped, nothing delivered, nothing returnable.
    found = await pos.get(f"/v1/orders/by-number/{order['number']}")
    assert found.status_code == 200 and found.json()["status"] == "fulfilled", found.text
    returnable = (await pos.get(f"/v1/orders/{order['id']}/returnable")).json()["lines"]
    assert [(x["delivered"], x["returnable_quantity"]) for x in returnable] == [(0, 0)]

    r = await pos.post("/v1/returns", json=_return(order, 1))
    assert r.status_code == 201, r.text
    ret = r.json()
    assert (ret["status"], ret["location_code"], ret["refund_total"]) == ("refunded", "STORE-TEST", SHIRT_PRICE)
    assert [(x["kind"], x["amount"]) for x in ret["refunds"]] == [("card", SHIRT_PRICE)]
    assert await ledger(db, shop.small, "STORE-TEST") == [("receipt", 10), ("return_restock", 1)]

    # The presented parcel is delivered: the order's timeline says how, and by which till.
    timeline = (await pos.get(f"/v1/orders/{order['id']}/timeline")).json()["items"]
    [delivered] = [e for e in timeline if e["kind"] == "lines_delivered"]
    assert delivered["detail"]["note"] == PRESENTED
    assert delivered["detail"]["lines"] == [{"line_no": 1, "quantity": 2}]
    assert delivered["channel"] == "pos" and delivered["actor_key_id"] is not None
    kinds = [e["kind"] for e in timeline]
    assert kinds.index("lines_delivered") < kinds.index("return_requested")
    assert (await pos.get(f"/v1/orders/{order['id']}")).json()["status"] == "completed"
    fo = await _fulfillment_order(api, order["id"])
    assert fo["status"] == "delivered" and fo["parcels"][0]["delivered_at"] is not None
    presented = await db.scalar(
        select(FulfillmentEvent.detail).where(
            FulfillmentEvent.kind == "deliver", FulfillmentEvent.order_id == fo["order_id"]
        )
    )
    assert presented == {"presented_at": "STORE-TEST", "by": "customer"}

    # The other unit is still returnable; the points the delivery earns are taken back for the one returned.
    returnable = (await pos.get(f"/v1/orders/{order['id']}/returnable")).json()["lines"]
    assert [(x["delivered"], x["returnable_quantity"]) for x in returnable] == [(2, 1)]
    await _earn_from_events(db)
    card = (await pos.get(f"/v1/loyalty/cards/{customer['card_number']}")).json()
    assert card["pending"] == 25
    assert (await pos.get(f"/v1/returns/{ret['id']}")).json()["points_reversed"] == 25

    # The carrier's late "delivered" changes nothing.
    event = {"carrier": "colissimo", "event_id": f"ev-{tracking}", "tracking_number": tracking, "status": "delivered"}
    late = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert late.status_code == 200 and late.json()["status"] == "delivered", late.text
    timeline = (await pos.get(f"/v1/orders/{order['id']}/timeline")).json()["items"]
    assert [e["kind"] for e in timeline].count("lines_delivered") == 1


async def test_units_never_shipped_cannot_come_back_at_a_till(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    customer, token = await _customer(api)
    order = await place(
        api, "storefront", delivery_body({shop.small: 2}, 2 * SHIRT_PRICE, customer_id=customer["id"]), token
    )
    r = await api.as_("pos").post("/v1/returns", json=_return(order, 1))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "not_shipped"
    assert problem["extra"]["lines"] == [{"line_no": 1, "units": 1}]
    assert "cannot be returned" in problem["detail"]
    assert await returns_count(db) == 0
    assert (await _fulfillment_order(api, order["id"]))["status"] == "created"
    events = await db.scalar(
        select(func.count()).select_from(FulfillmentEvent).where(FulfillmentEvent.kind == "deliver")
    )
    assert events == 0
