"""Pieces several catalog use cases share: response shapes, writing with duplicate keys
turned into problems, product events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository
from app.catalog.errors import BarcodeTaken, CategoryCodeTaken, ProductCodeTaken, SkuTaken
from app.catalog.models import Category, Product, Variant
from app.catalog.schemas import CategoryOut, ProductOut, ProductSummary, VariantDetail, VariantOut
from app.core import outbox
from app.core.errors import Conflict


def category_out(category: Category, parent_code: str | None) -> CategoryOut:
    return CategoryOut(
        id=category.id,
        code=category.code,
        name=category.name,
        parent=parent_code,
        path=category.path,
        created_at=category.created_at,
    )


def variant_out(v: Variant) -> VariantOut:
    return VariantOut(
        sku=v.sku,
        product_id=v.product_id,
        size=v.size,
        color=v.color,
        barcode=v.barcode,
        weight_grams=v.weight_grams,
        attributes=dict(v.attributes or {}),
        created_at=v.created_at,
        updated_at=v.updated_at,
    )


def product_out(
    p: Product, category_code: str | None, category_path: str | None, variants: list[Variant]
) -> ProductOut:
    return ProductOut(
        id=p.id,
        code=p.code,
        name=p.name,
        description=p.description,
        brand=p.brand,
        category=category_code,
        category_path=category_path,
        not_sold_in=list(p.not_sold_in or []),
        returnable=p.returnable,
        attributes=dict(p.attributes or {}),
        variants=[variant_out(v) for v in sorted(variants, key=lambda v: v.sku)],
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def detail(v: Variant, p: Product, category_code: str | None, category_path: str | None) -> VariantDetail:
    return VariantDetail(
        sku=v.sku,
        size=v.size,
        color=v.color,
        barcode=v.barcode,
        weight_grams=v.weight_grams,
        attributes=dict(v.attributes or {}),
        product=ProductSummary(
            id=p.id,
            code=p.code,
            name=p.name,
            brand=p.brand,
            category=category_code,
            category_path=category_path,
            not_sold_in=list(p.not_sold_in or []),
            returnable=p.returnable,
        ),
    )


_CONFLICTS: dict[str, type[Conflict]] = {
    "uq_products_code": ProductCodeTaken,
    "pk_variants": SkuTaken,
    "uq_variants_barcode": BarcodeTaken,
    "uq_categories_code": CategoryCodeTaken,
}


async def save(session: AsyncSession, *objects: Any) -> None:
    """Write, turning a duplicate key (e.g. two requests racing for one SKU) into its problem."""
    try:
        await repository.save(session, *objects)
    except repository.UniqueViolation as exc:
        problem = _CONFLICTS.get(exc.constraint or "", Conflict)
        raise problem("another record already uses this value") from None


async def record(session: AsyncSession, event: str, product: Product, skus: list[str]) -> None:
    await outbox.record(
        session,
        event,
        aggregate_type="product",
        aggregate_id=str(product.id),
        payload={"product_id": str(product.id), "code": product.code, "skus": skus},
    )
