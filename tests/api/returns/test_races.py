"""Races on committed data, real separate connections: the conditional UPDATE on an order
line's returned quantity lets exactly one of two returns of the last unit through."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.orders.models import OrderTender
from app.orders.returns.models import OrderLineReturns
from tests.api.returns.conftest import SHIRT_PRICE, deliver, delivery_body, make_shop, place
from tests.conftest import Api


async def test_two_returns_of_the_last_unit_at_once(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    api = committed_api
    async with committed() as db:
        shop = await make_shop(db)
    order = await place(api, "storefront", delivery_body({shop.small: 1}, SHIRT_PRICE))
    await deliver(api, order)
    body = {
        "order_id": order["id"],
        "mode": "immediate",
        "reason": "race",
        "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
    }
    answers = await asyncio.gather(*(api.as_("pos").post("/v1/returns", json=body) for _ in range(6)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 1, [r.text for r in answers]
    assert all(r.json()["code"] == "already_returned" for r in answers if r.status_code != 201)
    async with committed() as db:
        row = (await db.scalars(select(OrderLineReturns))).one()
        assert (row.returned_quantity, row.refunded_quantity, row.refunded_amount) == (1, 1, SHIRT_PRICE)
        card = (await db.scalars(select(OrderTender))).one()
        assert card.refunded == SHIRT_PRICE
