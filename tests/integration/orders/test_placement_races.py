"""Placement under real concurrency (committed data, separate connections)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.inventory.models import StockLevel
from app.orders.models import Order
from app.orders.payments.models import TestGatewayAuthorization
from tests.conftest import Api
from tests.factories.orders import delivery_order, make_shop


async def test_same_key_twenty_times_at_once_makes_one_order(
    committed: async_sessionmaker[AsyncSession], committed_api: Api
) -> None:
    async with committed() as session:
        shop = await make_shop(session)
        await session.commit()
    body = delivery_order(shop.skus, 3999)
    responses = await asyncio.gather(
        *(
            committed_api.as_("storefront").post("/v1/orders", json=body, headers={"Idempotency-Key": "race-1"})
            for _ in range(20)
        )
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.content for r in responses}) == 1
    async with committed() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
        assert await session.scalar(select(func.count()).select_from(TestGatewayAuthorization)) == 1
        reserved = await session.scalar(
            select(StockLevel.reserved).where(
                StockLevel.sku == shop.skus[0], StockLevel.location_code == shop.warehouse
            )
        )
        assert reserved == 1


async def test_last_units_go_to_exactly_as_many_orders_as_there_are_units(
    committed: async_sessionmaker[AsyncSession], committed_api: Api
) -> None:
    async with committed() as session:
        shop = await make_shop(session, stock=0, warehouse_stock=5)
        await session.commit()
    body = delivery_order(shop.skus[:1], 1000)
    responses = await asyncio.gather(
        *(committed_api.as_("storefront").post("/v1/orders", json=body) for _ in range(12))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 5 and codes.count(409) == 7, codes
    async with committed() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 5
        auths = (await session.scalars(select(TestGatewayAuthorization))).all()
        # The refused orders' authorizations were voided: only the placed ones hold money.
        assert sum(1 for a in auths if a.released == 0) == 5
