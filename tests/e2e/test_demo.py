"""The demo retailer seeds idempotently and answers the README's first requests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import demo
from app.catalog.models import Product, Variant
from app.core.models import ApiKey
from tests.conftest import SETTINGS


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_demo_seed_twice_changes_nothing_and_keys_work(
    db_maker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = replace(SETTINGS, data_dir=tmp_path)
    async with db_maker() as session:
        first_keys = await demo.seed(session, settings)
        await session.commit()
        counts = [await _count(session, m) for m in (Product, Variant, ApiKey)]
        second_keys = await demo.seed(session, settings)
        await session.commit()
        assert [await _count(session, m) for m in (Product, Variant, ApiKey)] == counts
    assert second_keys == first_keys
    assert counts[0] >= 24 and counts[1] >= 100
    storefront = {"Authorization": f"Bearer {first_keys['storefront (web)']}"}
    barcode = demo.catalog_rows()[0].barcode
    scanned = await client.get("/v1/variants", params={"barcode": barcode}, headers=storefront)
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["sku"] == demo.catalog_rows()[0].sku
    assert (await client.get("/v1/variants", params={"barcode": barcode})).status_code == 401
    created = await client.post(
        "/v1/products", json={"code": "X", "name": "X", "variants": [{"sku": "X-1"}]}, headers=storefront
    )
    assert created.status_code == 403
