"""Issue 14, delivery promise: the storefront's quote, the kiosk's endless aisle and the
order's tracking show the same dates, each with that channel's own key only.

The shop's locations keep the default promise settings (README "Delivery promise"): orders
before 14:00 local are packed in 2 hours and leave the same day, Monday to Saturday, and
carriers take 2 days (no Sunday deliveries). All in Europe/Paris; 2026-12-08 is a Tuesday."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from tests.api.returns.conftest import SHIRT_PRICE, delivery_body, make_shop
from tests.conftest import Api
from tests.factories.inventory import receive

PARIS = ZoneInfo("Europe/Paris")
TUESDAY_10 = datetime(2026, 12, 8, 10, 0, tzinfo=PARIS)


async def test_storefront_quote_promises_delivery_and_pickup_dates(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    clock.freeze(TUESDAY_10)
    web = api.as_("storefront")
    quote = {"currency": "EUR", "lines": [{"sku": shop.medium, "quantity": 2}]}

    home = await web.post(
        "/v1/pricing/quote",
        json={**quote, "fulfillment": {"method": "delivery", "address": {"country": "FR", "postal_code": "75001"}}},
    )
    assert home.status_code == 200, home.text
    promise = home.json()["promise"]
    # Packed 12:00, leaves Tuesday, two carrier days: Thursday.
    assert (promise["method"], promise["promised_by"], promise["ready_by"]) == ("delivery", "2026-12-10", None)
    assert promise["groups"] == [
        {
            "type": "delivery",
            "location": "WH-TEST",
            "skus": [shop.medium],
            "promised_by": "2026-12-10",
            "ready_by": None,
        }
    ]
    assert promise["unavailable"] == []

    store = await web.post(
        "/v1/pricing/quote", json={**quote, "fulfillment": {"method": "pickup", "location": "STORE-TEST"}}
    )
    promise = store.json()["promise"]
    # From the store's own shelf: ready two hours later, 12:00 in Paris.
    assert (promise["method"], promise["ready_by"], promise["promised_by"]) == ("pickup", "2026-12-08T11:00:00Z", None)
    assert [(g["type"], g["location"]) for g in promise["groups"]] == [("pickup", "STORE-TEST")]

    # More than the store holds: the rest comes by transfer, and the pickup is ready when it is
    # (leaves Tuesday, arrives Thursday, received 09:00 + 2 h).
    more = await web.post(
        "/v1/pricing/quote",
        json={
            "currency": "EUR",
            "lines": [{"sku": shop.medium, "quantity": 15}],
            "fulfillment": {"method": "pickup", "location": "STORE-TEST"},
        },
    )
    promise = more.json()["promise"]
    assert promise["ready_by"] == "2026-12-10T10:00:00Z"
    assert ("ship_to_store", "WH-TEST") in [(g["type"], g["location"]) for g in promise["groups"]]

    # No fulfillment choice: no promise. After the cut-off: a day later.
    assert (await web.post("/v1/pricing/quote", json=quote)).json()["promise"] is None
    clock.freeze(datetime(2026, 12, 8, 13, 0, tzinfo=PARIS))  # packed 15:00, after the 14:00 cut-off
    late = await web.post(
        "/v1/pricing/quote",
        json={**quote, "fulfillment": {"method": "delivery", "address": {"country": "FR", "postal_code": "75001"}}},
    )
    assert late.json()["promise"]["promised_by"] == "2026-12-11"
    clock.freeze(datetime(2026, 12, 12, 15, 0, tzinfo=PARIS))  # Saturday after the cut-off: leaves Monday
    weekend = await web.post(
        "/v1/pricing/quote",
        json={**quote, "fulfillment": {"method": "delivery", "address": {"country": "FR", "postal_code": "75001"}}},
    )
    assert weekend.json()["promise"]["promised_by"] == "2026-12-16"


async def test_kiosk_endless_aisle_shows_dates_here_nearby_and_delivered(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    await receive(db, shop.small, "STORE-NORET", 3)  # a nearby store (same street) holding the small size
    await db.commit()
    clock.freeze(TUESDAY_10)
    aisle = await api.as_("kiosk").get(f"/v1/products/{shop.shirt_product}/aisle")
    assert aisle.status_code == 200, aisle.text
    sizes = {s["sku"]: s for s in aisle.json()["sizes"]}
    small = sizes[shop.small]
    assert (small["here"], small["here_ready_by"], small["best"]) == (10, "2026-12-08T11:00:00Z", "here")
    assert [(n["location"], n["available"], n["ready_by"]) for n in small["nearby"]] == [
        ("STORE-NORET", 3, "2026-12-08T11:00:00Z")
    ]
    assert (small["delivery"], small["delivery_by"]) == (20, "2026-12-10")
    assert sizes[shop.medium]["nearby"] == [] and sizes[shop.medium]["delivery_by"] == "2026-12-10"


async def test_the_order_keeps_the_promise_it_was_sold_with(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    clock.freeze(TUESDAY_10)
    web = api.as_("storefront")
    placed = await web.post(
        "/v1/orders",
        json=delivery_body({shop.medium: 2}, 2 * SHIRT_PRICE),
        headers={"Idempotency-Key": "promise-1"},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    # A day later the promise is still the one it was sold with, not a new one.
    clock.freeze(datetime(2026, 12, 9, 16, 0, tzinfo=PARIS))
    tracking = await web.get(f"/v1/orders/{order['id']}/shipments")
    assert tracking.status_code == 200, tracking.text
    [shipment] = tracking.json()["shipments"]
    # Thursday, to the end of the day where the parcel leaves (23:59:59.999999 Paris).
    assert shipment["promised_at"] == "2026-12-10T22:59:59.999999Z"
    assert (shipment["shipped_at"], shipment["delivered_at"]) == (None, None)
