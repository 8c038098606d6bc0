"""Every SQL statement of the catalog."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Category, Product, Variant


async def variant_facts(session: AsyncSession, skus: Iterable[str]) -> list[Any]:
    """(sku, product_id, category_id, category_path, not_sold_in, returnable) of the given SKUs."""
    rows = await session.execute(
        select(Variant.sku, Product.id, Product.category_id, Category.path, Product.not_sold_in, Product.returnable)
        .join(Product, Product.id == Variant.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Variant.sku.in_(list(skus)))
    )
    return list(rows.all())
