"""Journey: a pickup at a store that holds less of the size than its safety stock. The size is
shipped from the warehouse (logistics key), the store scans the parcel in at the back door with
its own POS key, the order becomes ready and the customer collects it (POS key). The arrived
units are that order's whatever the safety stock; the carrier's "delivered" does the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxEvent
from tests.api.fulfillment.conftest import assert_clean, ledger, location, order_body, retailer, stock
from tests.conftest import Api

LYON = (45.7640, 4.8357)
LOUVRE = (48.8606, 2.3376)


async def _order_shipped_to_the_store(api: Api, db: AsyncSession) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """One unit on the store's shelf, safety stock 2: nothing available there, so the unit
    ordered for pickup comes from the warehouse."""
    [sku] = (await retailer(db, 1)).skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {sku: 1})
    await location(db, "WH-TEST", "warehouse", *LYON, {sku: 4})
    await db.commit()
    safety = await api.as_("admin").patch(f"/v1/stock/STORE-TEST/{sku}", json={"safety_stock": 2})
    assert safety.status_code == 200 and safety.json()["available"] == 0, safety.text
    placed = await api.as_("storefront").post("/v1/orders", json=order_body({sku: 1}, pickup="STORE-TEST"))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    fos = (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order["id"]})).json()["items"]
    by_type = {fo["type"]: fo for fo in fos}
    assert by_type["pickup"]["status"] == "awaiting_transfer"
    inbound = by_type["ship_to_store"]
    assert (inbound["location_code"], inbound["deliver_to"]) == ("WH-TEST", "STORE-TEST")

    warehouse = api.as_("logistics")
    pick_list = (await warehouse.post("/v1/pick-lists", json={})).json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    assert (await warehouse.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})).status_code == 200
    parcel = {"parcels": [{"carrier": "van", "tracking_number": "VAN-0042"}]}
    assert (await warehouse.post(f"/v1/fulfillment-orders/{inbound['id']}/pack", json=parcel)).status_code == 200
    shipped = await warehouse.post(f"/v1/fulfillment-orders/{inbound['id']}/ship")
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped", shipped.text
    return sku, order, by_type


async def test_the_store_scans_the_parcel_in_and_the_customer_collects(api: Api, db: AsyncSession) -> None:
    sku, order, fos = await _order_shipped_to_the_store(api, db)
    store = api.as_("pos")
    pickup_id = fos["pickup"]["id"]

    other = await api.as_("logistics").post("/v1/parcels/received", json={"tracking_number": "VAN-0042"})
    assert other.status_code == 404  # the warehouse is not where it goes
    unknown = await store.post("/v1/parcels/received", json={"tracking_number": "VAN-9999"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_parcel"
    scanned = await store.post("/v1/parcels/received", json={"tracking_number": "VAN-0042"})
    assert scanned.status_code == 200, scanned.text
    assert scanned.json() == {
        "duplicate": False,
        "fulfillment_order_id": fos["ship_to_store"]["id"],
        "status": "delivered",
    }
    again = await store.post("/v1/parcels/received", json={"tracking_number": "VAN-0042"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # On the shelf now: 1 + 1 arrived; the arrived unit is reserved for the order, safety stock or not.
    assert await stock(db, sku, "STORE-TEST") == (2, 1)
    level = (await store.get("/v1/stock", params={"sku": sku, "location": "STORE-TEST"})).json()["items"][0]
    assert (level["on_hand"], level["reserved"], level["safety_stock"], level["available"]) == (2, 1, 2, 0)

    pickup = (await store.get(f"/v1/fulfillment-orders/{pickup_id}")).json()
    assert pickup["status"] == "created"
    pick_list = (await store.post("/v1/pick-lists", json={})).json()
    assert [(ln["sku"], ln["quantity"]) for ln in pick_list["lines"]] == [(sku, 1)]
    assert [t["type"] for t in pick_list["totes"]] == ["pickup"]
    confirm = {"lines": [{"sku": sku, "found": 1}]}
    assert (await store.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json=confirm)).status_code == 200
    ready = await store.post(f"/v1/fulfillment-orders/{pickup_id}/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready_for_pickup", ready.text
    note = (
        await db.scalars(
            select(OutboxEvent).where(
                OutboxEvent.type == "fulfillment.pickup_ready", OutboxEvent.aggregate_id == pickup_id
            )
        )
    ).one()
    collected = await store.post(
        f"/v1/fulfillment-orders/{pickup_id}/collect", json={"code": note.payload["pickup_code"]}
    )
    assert collected.status_code == 200 and collected.json()["status"] == "collected", collected.text
    shown = (await store.get(f"/v1/orders/{order['id']}")).json()
    assert shown["status"] == "completed"
    assert await stock(db, sku, "STORE-TEST") == (1, 0)
    assert await ledger(db, sku, "STORE-TEST") == [("receipt", 1), ("transfer_in", 1), ("sale", -1)]
    await assert_clean(db)


async def test_the_carrier_delivered_event_also_reserves_beyond_safety_stock(api: Api, db: AsyncSession) -> None:
    sku, _, fos = await _order_shipped_to_the_store(api, db)
    event = {"carrier": "van", "event_id": "van-1", "tracking_number": "VAN-0042", "status": "delivered"}
    arrived = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert arrived.status_code == 200 and arrived.json()["status"] == "delivered", arrived.text
    assert await stock(db, sku, "STORE-TEST") == (2, 1)
    pickup = (await api.as_("pos").get(f"/v1/fulfillment-orders/{fos['pickup']['id']}")).json()
    assert pickup["status"] == "created"
    await assert_clean(db)
