"""An order ends `completed` once nothing of it is on its way any more, whichever comes last:
the last delivery or collection, or the cancellation of its last open units."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.fulfillment.conftest import (
    assert_clean,
    events,
    fos_by_location,
    location,
    order_body,
    pick_and_pack,
    retailer,
    stock,
)
from tests.conftest import Api

LYON = (45.7640, 4.8357)
LILLE = (50.6292, 3.0573)


async def split_order(api: Api, db: AsyncSession) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """One unit of `a` from WH-TEST and one of `b` from WH-TWO: two parcels."""
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 2})
    await location(db, "WH-TWO", "warehouse", *LILLE, {b: 2})
    await db.commit()
    r = await api.as_("storefront").post("/v1/orders", json=order_body({a: 1, b: 1}))
    assert r.status_code == 201, r.text
    order = r.json()
    return order, await fos_by_location(api, order["id"]), shop.skus


async def ship(api: Api, fo: dict[str, Any], tracking: str) -> None:
    """WH-TEST's walk (the logistics key's location), packed and shipped."""
    await pick_and_pack(api, fo["id"], tracking)
    shipped = await api.as_("logistics").post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert shipped.status_code == 200, shipped.text


async def deliver(api: Api, tracking: str) -> None:
    event = {"carrier": "colissimo", "event_id": f"ev-{tracking}", "tracking_number": tracking, "status": "delivered"}
    r = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert r.status_code == 200 and r.json()["status"] == "delivered", r.text


async def cancel(api: Api, order_id: str, lines: list[dict[str, int]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": "changed mind"}
    if lines is not None:
        body["lines"] = lines
    r = await api.as_("contact_center").post(f"/v1/orders/{order_id}/cancel", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def status(api: Api, order_id: str) -> str:
    return str((await api.as_("admin").get(f"/v1/orders/{order_id}")).json()["status"])


async def test_last_open_units_cancelled_after_the_rest_was_delivered_completes_the_order(
    api: Api, db: AsyncSession
) -> None:
    order, fos, (_, b) = await split_order(api, db)
    await ship(api, fos["WH-TEST"], "CP-DONE-1")
    await deliver(api, "CP-DONE-1")
    assert await status(api, order["id"]) == "partially_fulfilled"

    cancelled = await cancel(api, order["id"])
    assert cancelled["status"] == "completed"
    assert [(ln["fulfilled_quantity"], ln["cancelled_quantity"]) for ln in cancelled["lines"]] == [(1, 0), (0, 1)]
    assert {code: fo["status"] for code, fo in (await fos_by_location(api, order["id"])).items()} == {
        "WH-TEST": "delivered",
        "WH-TWO": "cancelled",
    }
    assert [e["order_id"] for e in await events(db, "order.completed")] == [order["id"]]
    assert await stock(db, b, "WH-TWO") == (2, 0)
    await assert_clean(db)


async def test_cancelled_while_the_other_parcel_travels_completes_at_its_delivery(api: Api, db: AsyncSession) -> None:
    order, fos, _ = await split_order(api, db)
    await ship(api, fos["WH-TEST"], "CP-ROAD-1")
    assert (await cancel(api, order["id"]))["status"] == "fulfilled"  # a parcel is still on its way
    await deliver(api, "CP-ROAD-1")
    assert await status(api, order["id"]) == "completed"
    assert [e["order_id"] for e in await events(db, "order.completed")] == [order["id"]]
    await assert_clean(db)


async def test_units_cancelled_first_and_the_rest_delivered_later_completes_the_order(
    api: Api, db: AsyncSession
) -> None:
    order, fos, (_, b) = await split_order(api, db)
    partly = await cancel(api, order["id"], [{"line_no": 2, "quantity": 1}])
    assert partly["status"] == "released_to_fulfillment"
    assert (await fos_by_location(api, order["id"]))["WH-TWO"]["status"] == "cancelled"
    await ship(api, fos["WH-TEST"], "CP-LATER-1")
    assert await status(api, order["id"]) == "fulfilled"
    await deliver(api, "CP-LATER-1")
    assert await status(api, order["id"]) == "completed"
    assert await stock(db, b, "WH-TWO") == (2, 0)
    await assert_clean(db)


async def test_some_units_of_a_parcel_cancelled_first_and_the_rest_delivered_completes_the_order(
    api: Api, db: AsyncSession
) -> None:
    shop = await retailer(db, 1)
    [a] = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 3})
    await db.commit()
    r = await api.as_("storefront").post("/v1/orders", json=order_body({a: 3}))
    assert r.status_code == 201, r.text
    order = r.json()
    assert (await cancel(api, order["id"], [{"line_no": 1, "quantity": 2}]))["status"] == "released_to_fulfillment"
    fo = (await fos_by_location(api, order["id"]))["WH-TEST"]
    assert [ln["quantity"] for ln in fo["lines"]] == [1]
    await ship(api, fo, "CP-PART-1")
    await deliver(api, "CP-PART-1")
    final = (await api.as_("admin").get(f"/v1/orders/{order['id']}")).json()
    assert final["status"] == "completed"
    assert [(ln["fulfilled_quantity"], ln["cancelled_quantity"]) for ln in final["lines"]] == [(1, 2)]
    assert await stock(db, a, "WH-TEST") == (2, 0)
    await assert_clean(db)
