"""Issue 14, one fulfillment for quote and order: each journey with its channel's key alone.

- A kiosk quotes a home delivery in another price zone than its store's and orders it: the
  order costs what the quote said (it used to be priced in the store's zone and refused with
  `tenders_do_not_match_total`); a pickup at the kiosk's store is priced in the store's zone.
- A storefront saves its shopper's address, quotes the saved cart to that address by id and
  orders the cart to it; another customer's address id is refused without telling it.
- A guest at the kiosk orders for pickup with a phone / e-mail (normalized), which reaches
  the `fulfillment.pickup_ready` event when the store has it ready.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxEvent
from app.pricing import service as pricing
from app.pricing.schemas import DeliveryFeeIn, PriceCreate, PriceZoneCreate, ZoneAreaIn
from tests.conftest import Api
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive

MARSEILLE = {"line1": "1 Quai du Port", "city": "Marseille", "postal_code": "13002", "country": "FR"}
PARIS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
CITY_PRICE, COAST_PRICE, COAST_FEE, DEFAULT_PRICE = 1200, 900, 350, 1000


async def _shop(db: AsyncSession) -> str:
    """One SKU priced 10.00 by default, 12.00 in the kiosk store's zone `city`, 9.00 in the
    zone `coast` (postal codes 13…, delivery fee 3.50); stock at the store and a warehouse."""
    [sku] = await make_variants(db, 1)
    await pricing.create_zone(db, PriceZoneCreate(code="city", name="City"))
    await pricing.create_zone(
        db,
        PriceZoneCreate(
            code="coast",
            name="Coast",
            delivery_fees=[DeliveryFeeIn(currency="EUR", amount=COAST_FEE)],
            areas=[ZoneAreaIn(country="FR", postal_prefix="13")],
        ),
    )
    for zone, amount in (("default", DEFAULT_PRICE), ("city", CITY_PRICE), ("coast", COAST_PRICE)):
        await pricing.set_price(db, PriceCreate(sku=sku, currency="EUR", amount=amount, zone=zone))
    await make_locations(
        db,
        LocationFactory(code="STORE-TEST", kind="store", zone="city"),
        LocationFactory(code="WH-TEST", kind="warehouse"),
    )
    for where in ("STORE-TEST", "WH-TEST"):
        await receive(db, sku, where, 20)
    await db.commit()
    return sku


def _card(amount: int) -> list[dict[str, Any]]:
    return [{"kind": "card", "amount": amount, "card_token": "tok_visa"}]


async def test_kiosk_home_delivery_costs_what_its_quote_said(api: Api, db: AsyncSession) -> None:
    sku = await _shop(db)
    kiosk = api.as_("kiosk")
    to_marseille = {"method": "delivery", "address": MARSEILLE}
    lines = [{"sku": sku, "quantity": 2}]

    quote = await kiosk.post("/v1/pricing/quote", json={"lines": lines, "fulfillment": to_marseille})
    assert quote.status_code == 200, quote.text
    q = quote.json()
    assert (q["zone"], q["subtotal"], q["delivery"], q["total"]) == ("coast", 2 * COAST_PRICE, COAST_FEE, 2150)
    assert q["fulfillment"] == {"method": "delivery", "location": None, "address": {**MARSEILLE, **_NONES},
                                "address_id": None}  # fmt: skip

    order = await kiosk.post(
        "/v1/orders",
        json={"lines": lines, "fulfillment": to_marseille, "tenders": _card(q["total"])},
        headers={"Idempotency-Key": "kiosk-home-1"},
    )
    assert order.status_code == 201, order.text
    placed = order.json()
    assert (placed["channel"], placed["store_code"], placed["total"]) == ("kiosk", "STORE-TEST", 2150)
    assert placed["fulfillment"] == q["fulfillment"]  # answered the same way
    assert [line["unit_price"] for line in placed["lines"]] == [COAST_PRICE]

    # Pickup at the kiosk's own store: the store's zone, no fee — quote and order alike.
    here = {"method": "pickup", "location": "STORE-TEST"}
    pickup_quote = (await kiosk.post("/v1/pricing/quote", json={"lines": lines, "fulfillment": here})).json()
    assert (pickup_quote["zone"], pickup_quote["total"], pickup_quote["fulfillment"]["location"]) == (
        "city", 2 * CITY_PRICE, "STORE-TEST",
    )  # fmt: skip
    pickup = await kiosk.post(
        "/v1/orders",
        json={
            "lines": lines,
            "fulfillment": here,
            "tenders": _card(2 * CITY_PRICE),
            "contact": {"phone": "0301234567"},
        },
        headers={"Idempotency-Key": "kiosk-pickup-1"},
    )
    assert pickup.status_code == 201, pickup.text
    assert pickup.json()["fulfillment"] == pickup_quote["fulfillment"]

    # Another store's pickup is refused by the quote exactly as by the order.
    elsewhere = {"method": "pickup", "location": "WH-TEST"}
    refused = await kiosk.post("/v1/pricing/quote", json={"lines": lines, "fulfillment": elsewhere})
    assert refused.status_code == 403, refused.text


_NONES = {"line2": None, "region": None, "recipient": None, "phone": None, "latitude": None, "longitude": None}


async def test_storefront_quotes_its_cart_to_a_saved_address_and_orders_it(api: Api, db: AsyncSession) -> None:
    sku = await _shop(db)
    web = api.as_("storefront")
    ada = (await web.post("/v1/customers", json={"name": "Ada", "email": "ada.shape@example.org"})).json()
    token = (await web.post(f"/v1/customers/{ada['id']}/tokens")).json()["token"]
    as_ada = {"X-Customer-Token": token}

    saved = await web.post(f"/v1/customers/{ada['id']}/addresses", json={**MARSEILLE, "label": "home"}, headers=as_ada)
    assert saved.status_code == 201, saved.text
    home = saved.json()
    again = await web.post(f"/v1/customers/{ada['id']}/addresses", json=MARSEILLE, headers=as_ada)
    assert again.json()["id"] == home["id"]  # the same place keeps its id
    listed = await web.get(f"/v1/customers/{ada['id']}/addresses", headers=as_ada)
    assert [(a["id"], a["label"], a["city"]) for a in listed.json()] == [(home["id"], "home", "Marseille")]
    assert (await web.get(f"/v1/customers/{ada['id']}/addresses")).status_code == 403  # no token

    cart = await web.post("/v1/carts", json={"customer_id": ada["id"], "lines": [{"sku": sku, "quantity": 3}]},
                          headers=as_ada)  # fmt: skip
    assert cart.status_code == 201, cart.text
    to_home = {"method": "delivery", "address_id": home["id"]}
    quote_body = {"cart_id": cart.json()["id"], "fulfillment": to_home}
    assert (await web.post("/v1/pricing/quote", json=quote_body)).status_code == 403  # the cart's customer's token
    quote = await web.post("/v1/pricing/quote", json=quote_body, headers=as_ada)
    assert quote.status_code == 200, quote.text
    q = quote.json()
    assert (q["cart_id"], q["zone"], q["subtotal"], q["delivery"], q["total"]) == (
        cart.json()["id"], "coast", 3 * COAST_PRICE, COAST_FEE, 3 * COAST_PRICE + COAST_FEE,
    )  # fmt: skip
    assert q["fulfillment"]["address_id"] == home["id"] and q["fulfillment"]["address"]["city"] == "Marseille"

    # Someone else's saved address: 404 whoever asks, and nothing of it shows.
    bob = (await web.post("/v1/customers", json={"name": "Bob", "addresses": [PARIS]})).json()
    bobs = bob["addresses"][0]["id"]
    order_body = {"cart_id": cart.json()["id"], "tenders": _card(q["total"])}
    theirs = await web.post(
        "/v1/orders", json={**order_body, "fulfillment": {"method": "delivery", "address_id": bobs}},
        headers={**as_ada, "Idempotency-Key": "web-theirs"},
    )  # fmt: skip
    assert (theirs.status_code, theirs.json()["code"]) == (404, "address_not_found"), theirs.text
    assert "Rivoli" not in theirs.text and "Paris" not in theirs.text

    order = await web.post(
        "/v1/orders", json={**order_body, "fulfillment": to_home}, headers={**as_ada, "Idempotency-Key": "web-home"}
    )
    assert order.status_code == 201, order.text
    placed = order.json()
    assert (placed["customer_id"], placed["total"], placed["fulfillment"]) == (ada["id"], q["total"], q["fulfillment"])

    # Forgetting the address leaves the order's copy alone.
    gone = await web.delete(f"/v1/customers/{ada['id']}/addresses/{home['id']}", headers=as_ada)
    assert gone.status_code == 204, gone.text
    assert (await web.get(f"/v1/customers/{ada['id']}/addresses", headers=as_ada)).json() == []
    again_gone = await web.delete(f"/v1/customers/{ada['id']}/addresses/{home['id']}", headers=as_ada)
    assert (again_gone.status_code, again_gone.json()["code"]) == (404, "address_not_found")
    kept = await web.get(f"/v1/orders/{placed['id']}", headers=as_ada)
    assert kept.json()["fulfillment"]["address"]["line1"] == MARSEILLE["line1"]


async def test_kiosk_guest_pickup_names_a_contact_that_reaches_the_ready_notice(api: Api, db: AsyncSession) -> None:
    sku = await _shop(db)
    kiosk = api.as_("kiosk")
    body = {
        "lines": [{"sku": sku, "quantity": 1}],
        "fulfillment": {"method": "pickup", "location": "STORE-TEST"},
        "tenders": _card(CITY_PRICE),
    }
    nobody = await kiosk.post("/v1/orders", json=body, headers={"Idempotency-Key": "guest-0"})
    assert (nobody.status_code, nobody.json()["code"]) == (422, "contact_required"), nobody.text
    bad = await kiosk.post(
        "/v1/orders", json={**body, "contact": {"phone": "12"}}, headers={"Idempotency-Key": "guest-1"}
    )
    assert (bad.status_code, bad.json()["code"], bad.json()["extra"]["field"]) == (
        422,
        "invalid_phone",
        "contact.phone",
    )

    contact = {"phone": "030 1234567", "email": " Guest.Shape@Example.ORG "}
    order = await kiosk.post("/v1/orders", json={**body, "contact": contact}, headers={"Idempotency-Key": "guest-2"})
    assert order.status_code == 201, order.text
    placed = order.json()
    normalized = {"email": "guest.shape@example.org", "phone": "+49301234567"}
    assert (placed["customer_id"], placed["contact"]) == (None, normalized)

    # The store has it ready (its own key); the notice's event carries the contact.
    store = api.as_("pos")
    pick_list = (await store.post("/v1/pick-lists", json={})).json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    assert (await store.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})).status_code == 200
    ready = await store.post(f"/v1/fulfillment-orders/{pick_list['fulfillment_order_ids'][0]}/ready")
    assert ready.status_code == 200, ready.text
    events = (await db.scalars(select(OutboxEvent).where(OutboxEvent.type == "fulfillment.pickup_ready"))).all()
    assert [(e.payload["order_id"], e.payload["contact"]) for e in events] == [(placed["id"], normalized)]
