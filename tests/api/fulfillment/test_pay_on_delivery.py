"""Cash or card on delivery is taken at the door: nothing when the parcel leaves the
warehouse, the delivered goods' value when the carrier reports it delivered."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Role
from app.orders.models import OrderTender
from tests.api.fulfillment.conftest import ADDRESS, assert_clean, key_at, location, retailer
from tests.conftest import Api

LYON = (45.7640, 4.8357)
LILLE = (50.6292, 3.0573)


async def send_parcel(api: Api, client: Any, fo_id: str) -> str:
    """Pick everything on the next walk, pack one parcel and ship it; its tracking number."""
    pick_list = (await client.post("/v1/pick-lists", json={})).json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    confirmed = await client.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})
    assert confirmed.status_code == 200, confirmed.text
    tracking = f"CP{uuid.uuid4().hex[:8].upper()}"
    packed = await client.post(
        f"/v1/fulfillment-orders/{fo_id}/pack",
        json={"parcels": [{"carrier": "colissimo", "tracking_number": tracking}]},
    )
    assert packed.status_code == 200, packed.text
    shipped = await client.post(f"/v1/fulfillment-orders/{fo_id}/ship")
    assert shipped.status_code == 200, shipped.text
    return tracking


async def delivered(api: Api, tracking: str, *, repeat: bool = False) -> None:
    event = {"carrier": "colissimo", "event_id": f"ev-{tracking}", "tracking_number": tracking, "status": "delivered"}
    r = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] if repeat else r.json()["status"] == "delivered", r.text


async def captured(db: AsyncSession, order: dict[str, Any]) -> dict[str, int]:
    out = {}
    for t in order["tenders"]:
        row = await db.get(OrderTender, t["id"], populate_existing=True)
        assert row is not None
        out[row.kind] = row.captured
    return out


def order_body(lines: dict[str, int], tenders: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
        "fulfillment": {"method": "delivery", "address": ADDRESS},
        "tenders": tenders,
    }


async def test_cash_on_delivery_is_taken_parcel_by_parcel_at_the_door(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 2, b: 5})
    await location(db, "WH-TWO", "warehouse", *LILLE, {a: 2})
    lille = api.with_key(await key_at(db, Role.LOGISTICS, "WH-TWO"))
    await db.commit()
    r = await api.as_("storefront").post(
        "/v1/orders", json=order_body({a: 3, b: 1}, [{"kind": "cash_on_delivery", "amount": 4000}])
    )
    assert r.status_code == 201, r.text
    order = r.json()
    fos = (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order["id"]})).json()["items"]
    by_location = {fo["location_code"]: fo["id"] for fo in fos}

    lyon_parcel = await send_parcel(api, api.as_("logistics"), by_location["WH-TEST"])
    assert await captured(db, order) == {"cash_on_delivery": 0}  # the parcel left: nothing paid yet
    await delivered(api, lyon_parcel)
    assert await captured(db, order) == {"cash_on_delivery": 3000}  # 2 a + 1 b handed over
    await delivered(api, lyon_parcel, repeat=True)  # a repeated event takes nothing twice
    assert await captured(db, order) == {"cash_on_delivery": 3000}

    lille_parcel = await send_parcel(api, lille, by_location["WH-TWO"])
    assert await captured(db, order) == {"cash_on_delivery": 3000}
    await delivered(api, lille_parcel)
    assert await captured(db, order) == {"cash_on_delivery": 4000}
    final = (await api.as_("storefront").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "completed"
    timeline = (await api.as_("admin").get(f"/v1/orders/{order['id']}/timeline")).json()["items"]
    assert [e["detail"]["taken"] for e in timeline if e["kind"] == "lines_delivered"] == [3000, 1000]
    await assert_clean(db)


async def test_card_part_is_captured_when_shipped_the_rest_at_the_door(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 5})
    await db.commit()
    tenders = [
        {"kind": "card", "amount": 1500, "card_token": "tok_visa"},
        {"kind": "card_on_delivery", "amount": 1500},
    ]
    r = await api.as_("storefront").post("/v1/orders", json=order_body({a: 3}, tenders))
    assert r.status_code == 201, r.text
    order = r.json()
    cancelled = await api.as_("contact_center").post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "one too many", "lines": [{"line_no": 1, "quantity": 1}]}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [(t["kind"], t["released"]) for t in cancelled.json()["tenders"]] == [
        ("card", 0),
        ("card_on_delivery", 1000),
    ]
    [fo] = (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order["id"]})).json()["items"]
    parcel = await send_parcel(api, api.as_("logistics"), fo["id"])
    assert await captured(db, order) == {"card": 1500, "card_on_delivery": 0}
    await delivered(api, parcel)
    assert await captured(db, order) == {"card": 1500, "card_on_delivery": 500}
    await assert_clean(db)
