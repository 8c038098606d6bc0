"""Journey: a store rejects a ship-from-store order. With its own key only, the associate
sees where the order went (the reject answer and the fulfillment order's view name the new
fulfillment order and its location, or say no location could take it), the order's timeline
says who rejected what and why, and a wrong reason is answered with the allowed ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Channel, Role, create_key
from tests.api.fulfillment.conftest import location, order_body, retailer
from tests.conftest import Api

LOUVRE = (48.8606, 2.3376)
ORLY = (48.7262, 2.3652)
REASONS = ["no_staff", "item_damaged", "not_found"]


async def _till(db: AsyncSession, code: str) -> str:
    _, plaintext = await create_key(db, role=Role.POS, name=f"{code} till 2", channel=Channel.POS, location_code=code)
    return plaintext


async def _order_at_the_near_store(api: Api, db: AsyncSession, *, far_stock: int) -> tuple[Any, dict[str, Any], str]:
    shop = await retailer(db, 1)
    [sku] = shop.skus
    await location(db, "ST-NEAR", "store", *LOUVRE, {sku: 2}, ships=True)
    await location(db, "ST-MID", "store", *ORLY, {sku: far_stock} if far_stock else {}, ships=True)
    store = api.with_key(await _till(db, "ST-NEAR"))
    await db.commit()
    r = await api.as_("storefront").post("/v1/orders", json=order_body({sku: 1}))
    assert r.status_code == 201, r.text
    [fo] = (await store.get("/v1/fulfillment-orders", params={"status": "created"})).json()["items"]
    assert (fo["order_id"], fo["location_code"], fo["rejection"]) == (r.json()["id"], "ST-NEAR", None)
    return store, fo, sku


async def test_the_store_sees_where_a_rejected_order_went_and_the_timeline_says_who(api: Api, db: AsyncSession) -> None:
    store, fo, sku = await _order_at_the_near_store(api, db, far_stock=3)

    wrong = await store.post(f"/v1/fulfillment-orders/{fo['id']}/reject", json={"reason": "bored"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "validation_error"
    [error] = wrong.json()["errors"]
    assert (error["field"], sorted(error["allowed"])) == ("reason", sorted(REASONS))
    assert all(reason in wrong.json()["detail"] for reason in REASONS)

    r = await store.post(
        f"/v1/fulfillment-orders/{fo['id']}/reject", json={"reason": "not_found", "note": "not on the shelf"}
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["status"], answer["reject_reason"]) == ("rejected", "not_found")
    rejection = answer["rejection"]
    [went] = rejection["went_to"]
    assert (went["location_code"], went["status"]) == ("ST-MID", "created")
    assert went["number"] != fo["number"]
    assert (rejection["reason"], rejection["note"], rejection["rejected_by"]) == (
        "not_found",
        "not on the shelf",
        "ST-NEAR till 2",
    )
    assert rejection["cancelled"] == []
    assert rejection["outcome"] == f"sent to {went['number']} at ST-MID"
    # The fulfillment order's own view (the store still sees its rejected order) says the same.
    shown = await store.get(f"/v1/fulfillment-orders/{fo['id']}")
    assert shown.status_code == 200 and shown.json()["rejection"] == rejection

    timeline = await store.get(f"/v1/orders/{fo['order_id']}/timeline")
    assert timeline.status_code == 200, timeline.text
    [entry] = [e for e in timeline.json()["items"] if e["kind"] == "fulfillment_rejected"]
    assert entry["channel"] == "pos" and entry["actor_key_id"] is not None
    assert entry["detail"] == {
        "fulfillment_order": fo["number"],
        "location": "ST-NEAR",
        "reason": "not_found",
        "note": "not on the shelf",
        "by": "ST-NEAR till 2",
        "lines": [{"line_no": 1, "sku": sku, "quantity": 1}],
        "went_to": [{"fulfillment_order": went["number"], "location": "ST-MID"}],
        "outcome": f"sent to {went['number']} at ST-MID",
    }


async def test_no_location_could_take_it_the_lines_are_cancelled_and_refunded(api: Api, db: AsyncSession) -> None:
    store, fo, sku = await _order_at_the_near_store(api, db, far_stock=0)
    r = await store.post(f"/v1/fulfillment-orders/{fo['id']}/reject", json={"reason": "no_staff"})
    assert r.status_code == 200, r.text
    rejection = r.json()["rejection"]
    assert rejection["went_to"] == []
    assert rejection["cancelled"] == [{"line_id": "1", "sku": sku, "quantity": 1}]
    assert rejection["outcome"].startswith("1 unit(s) cancelled and refunded: no location could take them")
    order = await store.get(f"/v1/orders/{fo['order_id']}")
    assert order.json()["status"] == "cancelled"
    kinds = [e["kind"] for e in (await store.get(f"/v1/orders/{fo['order_id']}/timeline")).json()["items"]]
    assert kinds[-3:] == ["fulfillment_rejected", "cancel", "lines_cancelled"]


async def test_the_schema_lists_the_reject_reasons(api: Api) -> None:
    schema = (await api.as_("admin").get("/schema/openapi.json")).json()
    reason = schema["components"]["schemas"]["RejectBody"]["properties"]["reason"]
    assert sorted(reason["enum"]) == sorted(REASONS)
    assert all(f"`{r}`" in reason["description"] for r in REASONS)
