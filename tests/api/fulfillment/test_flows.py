"""End to end through the API: order -> sourcing -> pick list -> pick -> pack -> ship ->
delivered; BOPIS with codes; kiosk order shipped home; ship-from-store rejections; short
pick; uncollected pickup. After each, `oms check` is clean and the ledger explains every unit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Role
from app.core.models import OutboxEvent
from app.flows import fulfillment_progress
from app.orders.models import OrderTender
from tests.api.fulfillment.conftest import (
    PRICE,
    assert_clean,
    events,
    key_at,
    ledger,
    location,
    order_body,
    retailer,
    stock,
)
from tests.conftest import Api

LYON = (45.7640, 4.8357)
ORLY = (48.7262, 2.3652)
VERSAILLES = (48.8049, 2.1204)
LOUVRE = (48.8606, 2.3376)


async def place(api: Api, label: str, body: dict[str, object]) -> dict[str, Any]:
    r = await api.as_(label).post("/v1/orders", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def fos_of(api: Api, order_id: str) -> list[dict[str, Any]]:
    r = await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order_id})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def pick_all(client: Any, location_code: str | None = None) -> dict[str, Any]:
    """Ask for the next pick list and confirm every unit found."""
    body = {"location_code": location_code} if location_code else {}
    r = await client.post("/v1/pick-lists", json=body)
    assert r.status_code == 201, r.text
    pick_list = r.json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    confirmed = await client.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})
    assert confirmed.status_code == 200, confirmed.text
    return dict(confirmed.json())


async def test_web_order_is_delivered_from_a_warehouse(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 10, b: 10})
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 10})  # nearer, but does not ship
    await db.commit()
    order = await place(api, "storefront", order_body({a: 2, b: 1}))
    [fo] = await fos_of(api, order["id"])
    assert (fo["location_code"], fo["type"], fo["status"]) == ("WH-TEST", "delivery", "created")
    assert [line["location_code"] for line in order["lines"]] == ["WH-TEST", "WH-TEST"]
    view = (await api.as_("contact_center").get(f"/v1/fulfillment-orders/by-order/{order['id']}")).json()
    [decision] = view["decisions"]
    assert decision["trigger"] == "placement" and decision["split"] is False
    store_note = next(c for c in decision["candidates"] if c["location_code"] == "STORE-TEST")
    assert (store_note["outcome"], store_note["reasons"][0]["code"]) == ("skipped", "does_not_ship")

    logistics = api.as_("logistics")
    r = await logistics.post("/v1/pick-lists", json={})
    assert r.status_code == 201, r.text
    pick_list = r.json()
    assert [(ln["sku"], ln["quantity"]) for ln in pick_list["lines"]] == [(a, 2), (b, 1)]
    printed = await logistics.get(f"/v1/pick-lists/{pick_list['id']}/print")
    assert printed.status_code == 200 and printed.headers["content-type"].startswith("text/html")
    assert a in printed.text and fo["number"] in printed.text
    confirm = await logistics.post(
        f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": [{"sku": a, "found": 2}, {"sku": b, "found": 1}]}
    )
    assert confirm.status_code == 200, confirm.text
    again = await logistics.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": [{"sku": a, "found": 2}]})
    assert again.status_code == 409 and again.json()["code"] == "pick_list_closed"

    bad_ship = await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert bad_ship.status_code == 409 and bad_ship.json()["code"] == "invalid_transition"
    packed = await logistics.post(
        f"/v1/fulfillment-orders/{fo['id']}/pack",
        json={"parcels": [{"carrier": "colissimo", "tracking_number": "CP123456FR"}]},
    )
    assert packed.status_code == 200 and packed.json()["status"] == "packed", packed.text
    shipped = await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped", shipped.text
    assert await stock(db, a, "WH-TEST") == (8, 0)
    assert await ledger(db, a, "WH-TEST") == [("receipt", 10), ("sale", -2)]
    tender = await db.get(OrderTender, order["tenders"][0]["id"], populate_existing=True)
    assert tender is not None and tender.captured == 3 * PRICE

    event = {"carrier": "colissimo", "event_id": "ev-1", "tracking_number": "CP123456FR", "status": "delivered"}
    unauthorized = await api.as_("storefront").post("/v1/carrier-events", json=event)
    assert unauthorized.status_code == 403
    delivered = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered", delivered.text
    repeat = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert repeat.json()["duplicate"] is True
    final = (await api.as_("storefront").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "completed"
    await assert_clean(db)


async def test_app_order_bopis_ready_and_collected_with_the_code(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 3})
    await db.commit()
    order = await place(api, "app", order_body({a: 2}, pickup="STORE-TEST"))
    [fo] = await fos_of(api, order["id"])
    assert (fo["location_code"], fo["type"], fo["status"]) == ("STORE-TEST", "pickup", "created")
    assert await stock(db, a, "STORE-TEST") == (3, 2)

    pos = api.as_("pos")
    await pick_all(pos)
    early = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": "000000"})
    assert early.status_code == 409  # not ready yet
    ready = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready_for_pickup", ready.text
    [note] = await events(db, "fulfillment.pickup_ready")
    code = str(note["pickup_code"])
    assert len(code) == 6 and code.isdigit()
    assert f'"{code}"' not in ready.text  # staff never see the code

    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    refused = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": wrong})
    assert refused.status_code == 422 and refused.json()["code"] == "wrong_pickup_code"
    assert refused.json()["extra"]["attempts_left"] == 4
    other_store = await key_at(db, Role.POS, "STORE-ELSEWHERE")
    await db.commit()
    elsewhere = await api.with_key(other_store).post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": code})
    assert elsewhere.status_code == 404
    collected = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": code})
    assert collected.status_code == 200 and collected.json()["status"] == "collected", collected.text
    twice = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": code})
    assert twice.status_code == 409
    assert await stock(db, a, "STORE-TEST") == (1, 0)
    assert await ledger(db, a, "STORE-TEST") == [("receipt", 3), ("sale", -2)]
    final = (await api.as_("app").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "completed"
    await assert_clean(db)


async def test_five_wrong_codes_lock_the_pickup(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 1})
    await db.commit()
    order = await place(api, "app", order_body({a: 1}, pickup="STORE-TEST"))
    [fo] = await fos_of(api, order["id"])
    pos = api.as_("pos")
    await pick_all(pos)
    await pos.post(f"/v1/fulfillment-orders/{fo['id']}/ready")
    code = str((await events(db, "fulfillment.pickup_ready"))[0]["pickup_code"])
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    answers = [(await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": wrong})) for _ in range(5)]
    assert [r.status_code for r in answers] == [422, 422, 422, 422, 423]
    assert answers[-1].json()["code"] == "pickup_locked"
    right = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": code})
    assert right.status_code == 423
    view = (await pos.get(f"/v1/fulfillment-orders/{fo['id']}")).json()
    assert view["pickup_locked"] is True and view["status"] == "ready_for_pickup"


async def test_kiosk_order_for_a_size_the_store_lacks_ships_home_from_a_warehouse(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    small, large = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {small: 5}, ships=True)
    await location(db, "WH-TEST", "warehouse", *LYON, {large: 5})
    await db.commit()
    order = await place(api, "kiosk", order_body({large: 1}))
    [fo] = await fos_of(api, order["id"])
    assert (fo["location_code"], fo["type"]) == ("WH-TEST", "delivery")
    decision = (await api.as_("contact_center").get(f"/v1/fulfillment-orders/by-order/{order['id']}")).json()[
        "decisions"
    ][0]
    store = next(c for c in decision["candidates"] if c["location_code"] == "STORE-TEST")
    assert (store["outcome"], store["reasons"][0]["code"]) == ("skipped", "out_of_stock")
    await assert_clean(db)


async def test_split_order_writes_its_fulfillment_events_in_the_order_transaction(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 5})
    await location(db, "WH-NORTH", "warehouse", *ORLY, {b: 5})
    await db.commit()
    order = await place(api, "storefront", order_body({a: 1, b: 2}))
    fos = {fo["location_code"]: fo for fo in await fos_of(api, order["id"])}
    assert sorted(fos) == ["WH-NORTH", "WH-TEST"]
    created = await events(db, "fulfillment.created")
    assert sorted(created, key=lambda e: str(e["location"])) == [
        {
            "fulfillment_order_id": fos[code]["id"],
            "number": fos[code]["number"],
            "order_id": order["id"],
            "location": code,
            "type": "delivery",
            "status": "created",
        }
        for code in ("WH-NORTH", "WH-TEST")
    ]
    rows = await db.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id))
    kinds = [t for t in rows if t in ("reservation.created", "fulfillment.created", "order.placed")]
    # one transaction; the reservation comes last because the order reserves as its last step
    assert kinds == ["fulfillment.created", "fulfillment.created", "order.placed", "reservation.created"]
    await assert_clean(db)


async def test_bopis_without_stock_anywhere_is_409_with_what_is_where(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 1})
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 1})
    await db.commit()
    r = await api.as_("app").post("/v1/orders", json=order_body({a: 3}, pickup="STORE-TEST"))
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock", r.text
    assert r.json()["extra"]["available_at"] == {a: {"WH-TEST": 1, "STORE-TEST": 1}}
    assert await stock(db, a, "STORE-TEST") == (1, 0)


async def test_bopis_ship_to_store_waits_for_the_transfer(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    here, missing = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {here: 1})
    await location(db, "WH-TEST", "warehouse", *LYON, {missing: 4})
    await db.commit()
    order = await place(api, "app", order_body({here: 1, missing: 2}, pickup="STORE-TEST"))
    fos = {fo["type"]: fo for fo in await fos_of(api, order["id"])}
    assert fos["pickup"]["status"] == "awaiting_transfer"
    assert (fos["ship_to_store"]["location_code"], fos["ship_to_store"]["deliver_to"]) == ("WH-TEST", "STORE-TEST")
    assert await stock(db, missing, "WH-TEST") == (4, 2)
    logistics = api.as_("logistics")
    await pick_all(logistics)
    inbound = fos["ship_to_store"]["id"]
    await logistics.post(
        f"/v1/fulfillment-orders/{inbound}/pack", json={"parcels": [{"carrier": "van", "tracking_number": "VAN-0001"}]}
    )
    shipped = await logistics.post(f"/v1/fulfillment-orders/{inbound}/ship")
    assert shipped.status_code == 200, shipped.text
    assert await stock(db, missing, "WH-TEST") == (2, 0)
    arrived = await api.as_("integration").post(
        "/v1/carrier-events",
        json={"carrier": "van", "event_id": "v1", "tracking_number": "VAN-0001", "status": "delivered"},
    )
    assert arrived.status_code == 200, arrived.text
    assert await stock(db, missing, "STORE-TEST") == (2, 2)
    pickup = (await api.as_("pos").get(f"/v1/fulfillment-orders/{fos['pickup']['id']}")).json()
    assert pickup["status"] == "created"
    await pick_all(api.as_("pos"))
    ready = await api.as_("pos").post(f"/v1/fulfillment-orders/{fos['pickup']['id']}/ready")
    assert ready.json()["status"] == "ready_for_pickup"
    assert await ledger(db, missing, "STORE-TEST") == [("transfer_in", 2)]
    await assert_clean(db)


async def test_ship_from_store_rejected_twice_is_shipped_by_the_third_location(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    near = await location(db, "ST-NEAR", "store", *LOUVRE, {a: 2}, ships=True)
    mid = await location(db, "ST-MID", "store", *ORLY, {a: 3}, ships=True)
    far = await location(db, "ST-FAR", "store", *VERSAILLES, {a: 2}, ships=True)
    keys = {code: api.with_key(await key_at(db, Role.LOGISTICS, code)) for code in (near, mid, far)}
    await db.commit()
    order = await place(api, "storefront", order_body({a: 1}))
    [first] = await fos_of(api, order["id"])
    assert first["location_code"] == near and first["respond_by"] is not None

    other = await keys[mid].post(f"/v1/fulfillment-orders/{first['id']}/reject", json={"reason": "no_staff"})
    assert other.status_code == 404  # another store's order is invisible
    bad = await keys[near].post(f"/v1/fulfillment-orders/{first['id']}/reject", json={"reason": "bored"})
    assert bad.status_code == 400
    r = await keys[near].post(f"/v1/fulfillment-orders/{first['id']}/reject", json={"reason": "no_staff"})
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert await stock(db, a, near) == (2, 0)  # no staff: no stock correction
    second = next(fo for fo in await fos_of(api, order["id"]) if fo["status"] == "created")
    assert second["location_code"] == mid
    r = await keys[mid].post(f"/v1/fulfillment-orders/{second['id']}/reject", json={"reason": "not_found"})
    assert r.status_code == 200, r.text
    assert await stock(db, a, mid) == (0, 0)  # not found: counted down to nothing available
    assert await ledger(db, a, mid) == [("receipt", 3), ("cycle_count", -3)]
    third = next(fo for fo in await fos_of(api, order["id"]) if fo["status"] == "created")
    assert third["location_code"] == far
    assert (await keys[far].post(f"/v1/fulfillment-orders/{third['id']}/accept")).status_code == 200
    await pick_all(keys[far])
    await keys[far].post(
        f"/v1/fulfillment-orders/{third['id']}/pack",
        json={"parcels": [{"carrier": "dhl", "tracking_number": "DHL-42"}]},
    )
    shipped = await keys[far].post(f"/v1/fulfillment-orders/{third['id']}/ship")
    assert shipped.json()["status"] == "shipped", shipped.text
    assert await stock(db, a, far) == (1, 0)
    view = (await api.as_("contact_center").get(f"/v1/fulfillment-orders/by-order/{order['id']}")).json()
    assert [d["trigger"] for d in view["decisions"]] == ["placement", "rejection", "rejection"]
    assert view["decisions"][2]["candidates"][0]["location_code"] == far
    skipped = {c["location_code"]: c["reasons"][0]["code"] for c in view["decisions"][2]["candidates"]}
    assert skipped[near] == "excluded" and skipped[mid] == "excluded"
    await assert_clean(db)


async def test_rejections_beyond_the_limit_cancel_and_refund_the_line(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "ST-NEAR", "store", *LOUVRE, {a: 2}, ships=True)
    await location(db, "ST-MID", "store", *ORLY, {a: 2}, ships=True)
    keys = {code: api.with_key(await key_at(db, Role.LOGISTICS, code)) for code in ("ST-NEAR", "ST-MID")}
    await db.commit()
    await api.as_("admin").post("/v1/sourcing/rules", json={"rules": {"max_rejections": 1}})
    order = await place(api, "storefront", order_body({a: 1}))
    [fo] = await fos_of(api, order["id"])
    r = await keys["ST-NEAR"].post(f"/v1/fulfillment-orders/{fo['id']}/reject", json={"reason": "item_damaged"})
    assert r.status_code == 200, r.text
    assert await ledger(db, a, "ST-NEAR") == [("receipt", 2), ("damage", -1)]
    assert [f["status"] for f in await fos_of(api, order["id"])] == ["rejected"]
    final = (await api.as_("storefront").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "cancelled"
    assert final["lines"][0]["cancelled_quantity"] == 1
    await assert_clean(db)


async def test_short_pick_is_re_sourced_and_counted(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 5, b: 5})
    await location(db, "WH-TWO", "warehouse", 50.6292, 3.0573, {a: 5})
    await db.commit()
    order = await place(api, "storefront", order_body({a: 3, b: 1}))
    [fo] = await fos_of(api, order["id"])
    assert fo["location_code"] == "WH-TEST"
    logistics = api.as_("logistics")
    pick_list = (await logistics.post("/v1/pick-lists", json={})).json()
    found = [{"sku": a, "found": 1}, {"sku": b, "found": 1}]
    r = await logistics.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})
    assert r.status_code == 200, r.text
    assert r.json()["confirmation"]["short"] == {a: 2}
    fos = {f["location_code"]: f for f in await fos_of(api, order["id"])}
    assert fos["WH-TEST"]["status"] == "picked"
    line_a = next(ln for ln in fos["WH-TEST"]["lines"] if ln["sku"] == a)
    assert (line_a["picked_quantity"], line_a["short_quantity"]) == (1, 2)
    assert fos["WH-TWO"]["status"] == "created"
    assert [(ln["sku"], ln["quantity"]) for ln in fos["WH-TWO"]["lines"]] == [(a, 2)]
    assert await stock(db, a, "WH-TEST") == (3, 1)  # 2 not on the shelf: counted away
    assert await ledger(db, a, "WH-TEST") == [("receipt", 5), ("cycle_count", -2)]
    assert await stock(db, a, "WH-TWO") == (5, 2)
    view = (await api.as_("contact_center").get(f"/v1/fulfillment-orders/by-order/{order['id']}")).json()
    assert "short_pick" in [e["kind"] for e in view["events"]]
    assert view["decisions"][-1]["trigger"] == "short_pick"
    await assert_clean(db)


async def test_uncollected_pickup_expires_and_is_restocked(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "STORE-TEST", "store", *LOUVRE, {a: 2})
    await db.commit()
    order = await place(api, "app", order_body({a: 2}, pickup="STORE-TEST"))
    [fo] = await fos_of(api, order["id"])
    await pick_all(api.as_("pos"))
    await api.as_("pos").post(f"/v1/fulfillment-orders/{fo['id']}/ready")
    assert await stock(db, a, "STORE-TEST") == (2, 2)
    assert await fulfillment_progress.expire_pickups(db) == 0  # not yet
    clock.advance(timedelta(days=5, minutes=1))
    assert await fulfillment_progress.expire_pickups(db) == 1
    await db.commit()
    view = (await api.as_("pos").get(f"/v1/fulfillment-orders/{fo['id']}")).json()
    assert view["status"] == "expired"
    assert await stock(db, a, "STORE-TEST") == (2, 0)
    final = (await api.as_("app").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "cancelled"
    assert final["tenders"][0]["released"] == 2 * PRICE
    [expired] = await events(db, "fulfillment.expired")
    assert expired["order_id"] == order["id"]
    await assert_clean(db)


async def test_store_that_does_not_answer_counts_as_rejecting(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "ST-NEAR", "store", *LOUVRE, {a: 2}, ships=True)
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 2})
    await db.commit()
    order = await place(api, "storefront", order_body({a: 1}))
    [fo] = await fos_of(api, order["id"])
    assert fo["location_code"] == "ST-NEAR"
    clock.advance(timedelta(minutes=121))
    assert await fulfillment_progress.reject_overdue(db) == 1
    await db.commit()
    fos = {f["location_code"]: f for f in await fos_of(api, order["id"])}
    assert (fos["ST-NEAR"]["status"], fos["ST-NEAR"]["reject_reason"]) == ("rejected", "timeout")
    assert fos["WH-TEST"]["status"] == "created"
    await assert_clean(db)
