"""Issue 14, storefront and app: a shopper browses, orders and follows the parcel — every
call with the storefront key and the shopper's X-Customer-Token only.

Before the journey the merchandiser schedules a price cut for tomorrow (so the price
history starts with a future price); during it the warehouse and the carrier move the
parcel with their own keys. Every figure the storefront shows is asserted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from tests.api.returns.conftest import ADDRESS, _fo, _pick_all, make_shop
from tests.conftest import Api

TRACKING = "JD014600006281230891"


async def test_storefront_order_to_tracking_with_the_shoppers_token(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    tomorrow = clock.now() + timedelta(days=1)
    cut = await api.as_("merchandiser").post(
        "/v1/prices",
        json={"sku": shop.medium, "currency": "EUR", "amount": 1999, "valid_from": tomorrow.isoformat()},
    )
    assert cut.status_code == 201, cut.text
    web = api.as_("storefront")
    signed_up = await web.post("/v1/customers", json={"name": "Grace", "email": "grace@example.com"})
    assert signed_up.status_code == 201, signed_up.text
    customer_id = signed_up.json()["id"]
    other = await web.post("/v1/customers", json={"name": "Alan", "email": "alan@example.com"})
    other_token = (await web.post("/v1/customer-sessions", json={"email": "alan@example.com"})).json()["token"]
    assert other.status_code == 201

    # The shopper logs in on the storefront, which gets their token.
    session = await web.post("/v1/customer-sessions", json={"email": "grace@example.com"})
    assert session.status_code in (200, 201), session.text
    me = {"X-Customer-Token": session.json()["token"]}

    # The product page: the variant with the price in force now, and tomorrow's change.
    offer = await web.get(f"/v1/variants/{shop.medium}/offer")
    assert offer.status_code == 200, offer.text
    assert offer.json()["variant"]["sku"] == shop.medium
    price = offer.json()["price"]
    assert (price["amount"], price["currency"], price["zone"], price["priced_in_zone"]) == (
        2500,
        "EUR",
        "default",
        "default",
    )
    # Tomorrow's cut is the retailer's secret until it starts (shopper-facing keys never see
    # scheduled prices); the price history shows this key the price in force only.
    assert (price["next_amount"], price["next_valid_from"]) == (None, None)
    history = (await web.get("/v1/prices", params={"sku": shop.medium})).json()["items"]
    assert [p["amount"] for p in history] == [2500]
    unknown = await web.get("/v1/variants/NOPE/offer")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_sku")

    # Cart and checkout.
    cart = await web.post("/v1/carts", json={"customer_id": customer_id}, headers=me)
    assert cart.status_code == 201, cart.text
    lines = await web.post(f"/v1/carts/{cart.json()['id']}/lines", json={"sku": shop.medium, "quantity": 2}, headers=me)
    assert lines.json()["total"] == 5000
    placed = await web.post(
        "/v1/orders",
        json={
            "cart_id": cart.json()["id"],
            "customer_id": customer_id,
            "fulfillment": {"method": "delivery", "address": ADDRESS},
            "tenders": [{"kind": "card", "amount": 5000, "card_token": "tok_visa"}],
        },
        headers={**me, "Idempotency-Key": "checkout-1"},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()

    # "My orders": the token alone says whose.
    mine = await web.get("/v1/orders", headers=me)
    assert mine.status_code == 200, mine.text
    assert [(o["id"], o["number"], o["total"], o["status"]) for o in mine.json()["items"]] == [
        (order["id"], order["number"], 5000, "released_to_fulfillment")
    ]
    assert (await web.get("/v1/orders")).status_code == 403  # no token: whose orders?
    theirs = await web.get("/v1/orders", headers={"X-Customer-Token": other_token})
    assert theirs.json()["items"] == []

    # Tracking before anything moved.
    tracking = await web.get(f"/v1/orders/{order['id']}/shipments", headers=me)
    assert tracking.status_code == 200, tracking.text
    [shipment] = tracking.json()["shipments"]
    assert (tracking.json()["order_number"], tracking.json()["status"]) == (order["number"], "released_to_fulfillment")
    assert (shipment["type"], shipment["status"], shipment["location_code"], shipment["parcels"]) == (
        "delivery", "created", "WH-TEST", [],
    )  # fmt: skip
    assert [(ln["sku"], ln["quantity"]) for ln in shipment["lines"]] == [(shop.medium, 2)]
    assert (shipment["shipped_at"], shipment["delivered_at"]) == (None, None)

    # The warehouse ships it (its own key), a day later the carrier delivers it.
    fo = await _fo(api, order["id"])
    await _pick_all(api, "logistics")
    packed = await api.as_("logistics").post(
        f"/v1/fulfillment-orders/{fo['id']}/pack", json={"parcels": [{"carrier": "dhl", "tracking_number": TRACKING}]}
    )
    assert packed.status_code == 200, packed.text
    assert (await api.as_("logistics").post(f"/v1/fulfillment-orders/{fo['id']}/ship")).status_code == 200
    shipped_at = clock.now()

    [shipment] = (await web.get(f"/v1/orders/{order['id']}/shipments", headers=me)).json()["shipments"]
    assert (shipment["status"], shipment["shipped_at"][:16], shipment["delivered_at"]) == (
        "shipped", shipped_at.isoformat()[:16], None,
    )  # fmt: skip
    assert shipment["parcels"] == [
        {
            "carrier": "dhl",
            "tracking_number": TRACKING,
            "tracking_url": f"https://www.dhl.com/global-en/home/tracking.html?tracking-id={TRACKING}",
            "delivered_at": None,
        }
    ]

    clock.advance(timedelta(days=1))
    event = {"carrier": "dhl", "event_id": "dhl-1", "tracking_number": TRACKING, "status": "delivered"}
    assert (await api.as_("integration").post("/v1/carrier-events", json=event)).json()["status"] == "delivered"
    delivered_at = clock.now()
    me = {
        "X-Customer-Token": (await web.post("/v1/customer-sessions", json={"email": "grace@example.com"})).json()[
            "token"
        ]
    }
    done = (await web.get(f"/v1/orders/{order['id']}/shipments", headers=me)).json()
    [shipment] = done["shipments"]
    assert (done["status"], shipment["status"]) == ("completed", "delivered")
    assert shipment["delivered_at"][:16] == delivered_at.isoformat()[:16]
    assert shipment["parcels"][0]["delivered_at"] == shipment["delivered_at"]

    # The timeline the shopper sees names channels, never the retailer's API keys.
    timeline = (await web.get(f"/v1/orders/{order['id']}/timeline", headers=me)).json()["items"]
    assert [e["kind"] for e in timeline][:1] == ["placed"]
    assert timeline[-1]["to_status"] == "completed"
    assert {e["actor_key_id"] for e in timeline} == {None}
    staff_view = (await api.as_("contact_center").get(f"/v1/orders/{order['id']}/timeline")).json()["items"]
    assert any(e["actor_key_id"] is not None for e in staff_view)  # the retailer still sees who

    # Someone else's token, or none, reads nothing of it.
    refused = await web.get(f"/v1/orders/{order['id']}/shipments", headers={"X-Customer-Token": other_token})
    assert (refused.status_code, refused.json()["code"]) == (403, "customer_token_invalid")
    bare = await web.get(f"/v1/orders/{order['id']}/shipments")
    assert (bare.status_code, bare.json()["code"]) == (403, "customer_token_required")


async def test_the_offer_prices_like_a_quote_and_shows_staff_the_next_change(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    staff = api.as_("merchandiser")
    zone = await staff.post("/v1/price-zones", json={"code": "paris", "name": "Paris"})
    assert zone.status_code == 201, zone.text
    tomorrow = clock.now() + timedelta(days=1)
    for body in (
        {"sku": shop.medium, "currency": "EUR", "amount": 1999, "valid_from": tomorrow.isoformat()},
        {"sku": shop.medium, "currency": "EUR", "amount": 2700, "zone": "paris", "valid_from": tomorrow.isoformat()},
    ):
        assert (await staff.post("/v1/prices", json=body)).status_code == 201

    default = (await staff.get(f"/v1/variants/{shop.medium}/offer")).json()["price"]
    assert (default["amount"], default["next_amount"], default["next_valid_from"][:19]) == (
        2500, 1999, tomorrow.isoformat()[:19],
    )  # fmt: skip
    # Paris has no price in force yet: the default zone's applies (as in a quote); Paris's own
    # takes over tomorrow.
    paris = (await staff.get(f"/v1/variants/{shop.medium}/offer", params={"zone": "paris"})).json()["price"]
    assert (paris["zone"], paris["priced_in_zone"], paris["amount"], paris["next_amount"]) == (
        "paris", "default", 2500, 2700,
    )  # fmt: skip
    clock.advance(timedelta(days=1, minutes=1))
    later = (await staff.get(f"/v1/variants/{shop.medium}/offer", params={"zone": "paris"})).json()["price"]
    assert (later["priced_in_zone"], later["amount"], later["next_amount"]) == ("paris", 2700, None)
    none = await staff.get(f"/v1/variants/{shop.medium}/offer", params={"currency": "USD"})
    assert (none.status_code, none.json()["code"]) == (422, "price_not_found")
