"""The order transaction reserves its stock last: when another order takes the planned stock
between the plan and the commit, the placement runs again with a fresh plan."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.fulfillment.usecases import sourcing
from app.inventory import service as inventory
from app.inventory.models import StockLevel
from app.orders.models import Order
from app.orders.payments.models import TestGatewayAuthorization
from tests.conftest import Api
from tests.factories.inventory import LocationFactory, make_locations, receive
from tests.factories.orders import delivery_order, make_shop


def _steal_before_the_first_reserve(
    monkeypatch: pytest.MonkeyPatch, committed: async_sessionmaker[AsyncSession]
) -> list[str]:
    """Before the placement's first (last-step) reserve, another transaction commits the
    damage of every unit the plan counted on. Returns the planned location of each reserve."""
    planned: list[str] = []
    reserve = sourcing._reserve_planned

    async def stolen_first(
        session: AsyncSession, reference: str, units: list[tuple[str, str, int]], actor: Any
    ) -> None:
        planned.append(units[0][1])
        if len(planned) == 1:
            async with committed() as other:
                for sku, location, quantity in units:
                    await inventory.adjust(other, sku=sku, location_code=location, delta=-quantity, reason="damage")
                await other.commit()
        await reserve(session, reference, units, actor)

    monkeypatch.setattr(sourcing, "_reserve_planned", stolen_first)
    return planned


async def test_stock_taken_before_commit_means_a_fresh_plan_and_the_order(
    committed: async_sessionmaker[AsyncSession], committed_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with committed() as session:
        shop = await make_shop(session, stock=0, warehouse_stock=1)
        await make_locations(session, LocationFactory(code="WH-SECOND", kind="warehouse"))
        await receive(session, shop.skus[0], "WH-SECOND", 1)
        await session.commit()
    planned = _steal_before_the_first_reserve(monkeypatch, committed)
    r = await committed_api.as_("storefront").post("/v1/orders", json=delivery_order(shop.skus[:1], 1000))
    assert r.status_code == 201, r.text
    # the first commit found its stock gone; the second attempt planned elsewhere and reserved
    assert len(planned) == 2 and planned[0] != planned[1], planned
    assert r.json()["lines"][0]["location_code"] == planned[1]
    async with committed() as session:
        levels = (await session.scalars(select(StockLevel).where(StockLevel.sku == shop.skus[0]))).all()
        by_location = {level.location_code: (level.on_hand, level.reserved) for level in levels}
        assert by_location[planned[0]] == (0, 0) and by_location[planned[1]] == (1, 1)
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def test_stock_gone_before_commit_is_409_with_nothing_written(
    committed: async_sessionmaker[AsyncSession], committed_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with committed() as session:
        shop = await make_shop(session, stock=0, warehouse_stock=1)
        await session.commit()
    _steal_before_the_first_reserve(monkeypatch, committed)
    r = await committed_api.as_("storefront").post("/v1/orders", json=delivery_order(shop.skus[:1], 1000))
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock", r.text
    async with committed() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
        auth = (await session.scalars(select(TestGatewayAuthorization))).one()
        assert auth.released == auth.amount  # the card was voided
