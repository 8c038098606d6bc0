"""A customer cancels while the warehouse ships the same order (committed data, separate
connections). Both paths lock the order row first, then its fulfillment orders: they wait
for each other, they never deadlock (no 503 `contention`, no 500)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.fulfillment.conftest import (
    assert_clean,
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
ROUNDS = 20


async def packed_split_order(api: Api, a: str, b: str, round_no: int) -> tuple[dict[str, Any], str, str]:
    """An order of `a` (WH-TEST) and `b` (WH-TWO): WH-TEST's parcel packed, WH-TWO's open."""
    placed = await api.as_("storefront").post("/v1/orders", json=order_body({a: 1, b: 1}))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    fos = await fos_by_location(api, order["id"])
    await pick_and_pack(api, fos["WH-TEST"]["id"], f"RACE{round_no:04d}")
    return order, fos["WH-TEST"]["id"], fos["WH-TWO"]["id"]


async def test_cancel_and_ship_at_once_never_deadlock(
    committed: async_sessionmaker[AsyncSession], committed_api: Api
) -> None:
    async with committed() as session:
        shop = await retailer(session, 2)
        a, b = shop.skus
        await location(session, "WH-TEST", "warehouse", *LYON, {a: ROUNDS})
        await location(session, "WH-TWO", "warehouse", *LILLE, {b: ROUNDS})
        await session.commit()
    api = committed_api
    outcomes: list[int] = []
    for round_no in range(ROUNDS):
        order, shipping, other = await packed_split_order(api, a, b, round_no)
        ship, cancel = await asyncio.gather(
            api.as_("logistics").post(f"/v1/fulfillment-orders/{shipping}/ship"),
            api.as_("contact_center").post(f"/v1/orders/{order['id']}/cancel", json={"reason": "changed mind"}),
        )
        # Cancel first: the packed unit cannot be cancelled (409, nothing written). Ship
        # first: the cancel gives up only what is left, the other parcel.
        assert ship.status_code == 200, ship.text
        assert cancel.status_code in (200, 409), cancel.text
        if cancel.status_code == 409:
            assert cancel.json()["code"] == "invalid_transition", cancel.text
        outcomes.append(cancel.status_code)
        final = (await api.as_("admin").get(f"/v1/orders/{order['id']}")).json()
        fos = {
            fo["id"]: fo["status"]
            for fo in (await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order["id"]})).json()[
                "items"
            ]
        }
        assert fos[shipping] == "shipped"
        assert [ln["fulfilled_quantity"] for ln in final["lines"]] == [1, 0]
        if cancel.status_code == 200:
            assert (final["status"], fos[other]) == ("fulfilled", "cancelled")
            assert [ln["cancelled_quantity"] for ln in final["lines"]] == [0, 1]
        else:
            assert (final["status"], fos[other]) == ("partially_fulfilled", "created")
            assert [ln["cancelled_quantity"] for ln in final["lines"]] == [0, 0]
    async with committed() as session:
        await assert_clean(session)
        open_b = outcomes.count(409)
        assert await stock(session, a, "WH-TEST") == (0, 0)  # every packed unit shipped (a sale)
        assert await stock(session, b, "WH-TWO") == (ROUNDS, open_b)  # held for the parcels still open
