"""Rule versions and the simulator, bins and the pick walk order, bad input, and two staff
asking for pick lists at the same moment (real connections, committed data)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.fulfillment.models import SourcingRuleVersion
from tests.api.fulfillment.conftest import location, order_body, retailer
from tests.conftest import Api

LYON = (45.7640, 4.8357)
LOUVRE = (48.8606, 2.3376)


async def test_rule_versions_and_simulation(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 2)
    a, b = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 10, b: 10})
    await location(db, "ST-A", "store", *LOUVRE, {a: 10}, ships=True)
    await location(db, "ST-B", "store", 48.7262, 2.3652, {b: 10}, ships=True)
    await db.commit()
    defaults = (await api.as_("merchandiser").get("/v1/sourcing/rules")).json()
    assert defaults["version"] == 0 and defaults["rules"]["criteria"] == ["fewest_parcels", "nearest", "lowest_cost"]
    for _ in range(3):
        r = await api.as_("storefront").post("/v1/orders", json=order_body({a: 1, b: 1}))
        assert r.status_code == 201, r.text
    proposal = {"rules": {"criteria": ["nearest", "fewest_parcels"]}, "orders": 10}
    denied = await api.as_("storefront").post("/v1/sourcing/simulate", json=proposal)
    assert denied.status_code == 403
    sim = await api.as_("admin").post("/v1/sourcing/simulate", json=proposal)
    assert sim.status_code == 200, sim.text
    totals = sim.json()["totals"]
    assert (totals["orders"], totals["changed"]) == (3, 3)
    assert (totals["parcels_before"], totals["parcels_after"]) == (3, 6)
    assert (totals["splits_before"], totals["splits_after"]) == (0, 3)
    assert (totals["store_assignments_before"], totals["store_assignments_after"]) == (0, 6)
    assert totals["km_after"] < totals["km_before"]
    assert sim.json()["changed_examples"][0]["after"] == ["ST-A:delivery", "ST-B:delivery"]
    # Read-only: nothing saved, nothing reserved.
    assert (await api.as_("admin").get("/v1/sourcing/rules")).json()["version"] == 0

    saved = await api.as_("admin").post("/v1/sourcing/rules", json={**proposal, "note": "test"} | {"orders": None})
    assert saved.status_code == 400  # `orders` is not part of a rule version
    saved = await api.as_("admin").post("/v1/sourcing/rules", json={"rules": proposal["rules"], "note": "nearest"})
    assert saved.status_code == 201, saved.text
    version = saved.json()["version"]
    assert (await api.as_("contact_center").get("/v1/sourcing/rules")).json()["version"] == version
    listed = (await api.as_("admin").get("/v1/sourcing/rules/versions")).json()
    assert [v["version"] for v in listed] == [version]
    assert (await api.as_("admin").get("/v1/sourcing/rules/versions/999999")).status_code == 404
    r = await api.as_("storefront").post("/v1/orders", json=order_body({a: 1, b: 1}))
    assert sorted(line["location_code"] for line in r.json()["lines"]) == ["ST-A", "ST-B"]


async def test_bad_rules_and_bodies_are_refused(api: Api, db: AsyncSession) -> None:
    admin = api.as_("admin")
    for bad in (
        {"rules": {"criteria": ["fastest"]}},
        {"rules": {"criteria": ["nearest", "nearest"]}},
        {"rules": {"max_rejections": 0}},
        {"rules": {"parcel_cost": {"drone": 5}}},
        {"rules": {}, "surprise": True},
    ):
        r = await admin.post("/v1/sourcing/rules", json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert (await db.get(SourcingRuleVersion, 1)) is None
    logistics = api.as_("logistics")
    unknown = "00000000-0000-0000-0000-000000000000"
    assert (await logistics.get(f"/v1/fulfillment-orders/{unknown}")).status_code == 404
    assert (await logistics.post(f"/v1/fulfillment-orders/{unknown}/ship")).status_code == 404
    r = await logistics.post(f"/v1/fulfillment-orders/{unknown}/pack", json={"parcels": []})
    assert r.status_code == 400
    r = await logistics.post(f"/v1/pick-lists/{unknown}/confirm", json={"lines": [{"sku": "X", "found": -1}]})
    assert r.status_code == 400
    assert (await logistics.get("/v1/fulfillment-orders", params={"status": "lost"})).status_code == 422
    nothing = await logistics.post("/v1/pick-lists", json={})
    assert nothing.status_code == 404 and nothing.json()["code"] == "nothing_to_pick"
    other = await logistics.post("/v1/pick-lists", json={"location_code": "WH-OTHER"})
    assert other.status_code == 403
    assert (await api.as_("admin").post("/v1/pick-lists", json={})).status_code == 422
    assert (await api.as_("storefront").post("/v1/pick-lists", json={})).status_code == 403


async def test_bins_order_the_walk(api: Api, db: AsyncSession) -> None:
    shop = await retailer(db, 3)
    a, b, c = shop.skus
    await location(db, "WH-TEST", "warehouse", *LYON, {a: 5, b: 5, c: 5})
    await db.commit()
    logistics = api.as_("logistics")
    r = await logistics.put("/v1/bins/WH-TEST", json={"csv": f"sku,bin\n{a},C-01-2\n{b},A-10-1\n{c},A-9-1\n"})
    assert r.status_code == 200 and r.json()["updated"] == 3, r.text
    assert (await logistics.put("/v1/bins/WH-OTHER", json={"bins": [{"sku": a, "bin": "A"}]})).status_code == 403
    assert (await logistics.put("/v1/bins/WH-TEST", json={"csv": "just-one-column"})).status_code == 422
    assert (await logistics.put("/v1/bins/WH-TEST", json={"bins": [], "csv": ""})).status_code == 422
    dupe = {"bins": [{"sku": a, "bin": "A"}, {"sku": a, "bin": "B"}]}
    assert (await logistics.put("/v1/bins/WH-TEST", json=dupe)).status_code == 422
    assert (await api.as_("admin").put("/v1/bins/NOWHERE", json={"bins": []})).status_code == 422
    await api.as_("storefront").post("/v1/orders", json=order_body({a: 1, c: 1}))
    await api.as_("storefront").post("/v1/orders", json=order_body({b: 2, c: 1}))
    pick_list = (await logistics.post("/v1/pick-lists", json={})).json()
    assert [(ln["sku"], ln["bin"], ln["quantity"]) for ln in pick_list["lines"]] == [
        (c, "A-9-1", 2),
        (b, "A-10-1", 2),
        (a, "C-01-2", 1),
    ]
    assert [s["quantity"] for s in pick_list["lines"][0]["shares"]] == [1, 1]
    wrong = await logistics.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": [{"sku": a, "found": 2}]})
    assert wrong.status_code == 422 and wrong.json()["code"] == "confirmation_mismatch"


async def test_two_staff_asking_at_once_get_disjoint_orders(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        shop = await retailer(session, 1)
        [a] = shop.skus
        await location(session, "WH-TEST", "warehouse", *LYON, {a: 100})
        await session.commit()
    await committed_api.as_("admin").post("/v1/sourcing/rules", json={"rules": {"pick_list_max_orders": 4}})
    for _ in range(12):
        r = await committed_api.as_("storefront").post("/v1/orders", json=order_body({a: 1}))
        assert r.status_code == 201, r.text
    clock.reset()

    async def ask() -> list[str]:
        r = await committed_api.as_("logistics").post("/v1/pick-lists", json={})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return list(body["fulfillment_order_ids"])

    results = await asyncio.gather(*(ask() for _ in range(3)))
    taken = [fo for batch in results for fo in batch]
    assert [len(batch) for batch in results] == [4, 4, 4]
    assert len(set(taken)) == 12  # nobody got an order twice
    again = await committed_api.as_("logistics").post("/v1/pick-lists", json={})
    assert again.status_code == 404
