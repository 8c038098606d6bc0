"""Products and their variants: create, change, read, list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, rules
from app.catalog.errors import BarcodeTaken, DuplicateInRequest, SkuTaken, UnknownCategory, UnknownProduct
from app.catalog.models import Category, Product, Variant
from app.catalog.schemas import ProductCreate, ProductOut, ProductUpdate, VariantChange, VariantCreate
from app.catalog.usecases.common import product_out, record, save
from app.core import clock
from app.core.pagination import Keyset, Page


def _unique_skus(skus: list[str]) -> None:
    seen: set[str] = set()
    for sku in skus:
        if sku in seen:
            raise DuplicateInRequest(f"SKU {sku!r} appears twice", sku=sku)
        seen.add(sku)


def _barcode_claims(claims: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """(raw barcode, sku) -> {GTIN-14: (stored barcode, sku)}, refusing bad or repeated barcodes."""
    by_gtin: dict[str, tuple[str, str]] = {}
    for raw, sku in claims:
        code = rules.validate_barcode(raw)
        key = rules.gtin14(code)
        if key in by_gtin:
            raise DuplicateInRequest(f"barcode {raw!r} appears twice", barcode=raw)
        by_gtin[key] = (code, sku)
    return by_gtin


async def _check_barcodes_free(session: AsyncSession, by_gtin: dict[str, tuple[str, str]]) -> None:
    """A barcode (in any of its GTIN forms) may belong to one SKU only."""
    forms = [form for code, _ in by_gtin.values() for form in rules.barcode_equivalents(code)]
    for owner_sku, owner_barcode in await repository.barcode_owners(session, forms):
        code, sku = by_gtin[rules.gtin14(owner_barcode)]
        if owner_sku != sku:
            raise BarcodeTaken(f"barcode {code} belongs to SKU {owner_sku}", barcode=code, sku=owner_sku)


async def _category_of(session: AsyncSession, code: str | None) -> Category | None:
    if code is None:
        return None
    category = await repository.category_by_code(session, code)
    if category is None:
        raise UnknownCategory(f"no category has code {code!r}", field="category")
    return category


def _new_variant(
    product_id: uuid.UUID, v: VariantCreate | VariantChange, barcode: str | None, now: datetime
) -> Variant:
    def given(value: Any, default: Any) -> Any:
        return default if value is UNSET else value

    return Variant(
        sku=v.sku,
        product_id=product_id,
        size=given(v.size, None),
        color=given(v.color, None),
        barcode=barcode,
        weight_grams=given(v.weight_grams, None),
        attributes=dict(given(v.attributes, {})),
        created_at=now,
        updated_at=now,
    )


async def create_product(session: AsyncSession, body: ProductCreate) -> ProductOut:
    _unique_skus([v.sku for v in body.variants])
    by_gtin = _barcode_claims([(v.barcode, v.sku) for v in body.variants if v.barcode is not None])
    category = await _category_of(session, body.category)
    await _check_barcodes_free(session, by_gtin)
    barcodes = {sku: code for code, sku in by_gtin.values()}
    now = clock.now()
    product = Product(
        id=uuid.uuid4(),
        code=body.code,
        name=body.name,
        description=body.description,
        brand=body.brand,
        category_id=category.id if category else None,
        not_sold_in=rules.normalize_channels(body.not_sold_in),
        returnable=body.returnable,
        attributes=dict(body.attributes),
        created_at=now,
        updated_at=now,
    )
    variants = [_new_variant(product.id, v, barcodes.get(v.sku), now) for v in body.variants]
    await save(session, product, *variants)
    await record(session, "catalog.product_created", product, [v.sku for v in variants])
    return product_out(product, category.code if category else None, category.path if category else None, variants)


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> ProductOut:
    row = await repository.product_by_id(session, product_id)
    if row is None:
        raise UnknownProduct(f"no product has id {product_id}")
    product, category_code, category_path = row
    return product_out(product, category_code, category_path, await repository.variants_of(session, [product.id]))


_PRODUCT_SCALARS = ("name", "description", "brand", "returnable")


_VARIANT_SCALARS = ("size", "color", "weight_grams")


async def update_product(session: AsyncSession, product_id: uuid.UUID, body: ProductUpdate) -> ProductOut:
    row = await repository.product_by_id(session, product_id, for_update=True)
    if row is None:
        raise UnknownProduct(f"no product has id {product_id}")
    product, category_code, category_path = row
    changed = _apply_scalars(product, body, _PRODUCT_SCALARS)
    if body.category is not UNSET:
        category = await _category_of(session, body.category)
        new_id = category.id if category else None
        if new_id != product.category_id:
            product.category_id = new_id
            category_code, category_path = (category.code, category.path) if category else (None, None)
            changed = True
    if body.not_sold_in is not UNSET and sorted(product.not_sold_in or []) != (
        channels := rules.normalize_channels(body.not_sold_in)
    ):
        product.not_sold_in, changed = channels, True
    if body.attributes is not UNSET and body.attributes != product.attributes:
        product.attributes, changed = dict(body.attributes), True
    now = clock.now()
    touched: list[Variant] = []
    if body.variants is not UNSET:
        touched = await _change_variants(session, product, body.variants, now)
    if changed or touched:
        product.updated_at = now
        await save(session, product, *touched)
        await record(session, "catalog.product_updated", product, [v.sku for v in touched])
    variants = await repository.variants_of(session, [product.id])
    return product_out(product, category_code, category_path, variants)


def _apply_scalars(target: Any, change: msgspec.Struct, fields: tuple[str, ...]) -> bool:
    changed = False
    for name in fields:
        value = getattr(change, name)
        if value is not UNSET and getattr(target, name) != value:
            setattr(target, name, value)
            changed = True
    return changed


async def _change_variants(
    session: AsyncSession, product: Product, changes: list[VariantChange], now: datetime
) -> list[Variant]:
    """Create the new SKUs and update this product's; returns the variants that changed."""
    _unique_skus([c.sku for c in changes])
    by_gtin = _barcode_claims([(c.barcode, c.sku) for c in changes if isinstance(c.barcode, str)])
    existing = {v.sku: v for v in await repository.variants_by_skus(session, [c.sku for c in changes])}
    await _check_barcodes_free(session, by_gtin)
    barcodes = {sku: code for code, sku in by_gtin.values()}
    touched: list[Variant] = []
    for change in changes:
        variant = existing.get(change.sku)
        if variant is None:
            touched.append(_new_variant(product.id, change, barcodes.get(change.sku), now))
            continue
        if variant.product_id != product.id:
            raise SkuTaken(f"SKU {change.sku} belongs to another product", sku=change.sku)
        changed = _apply_scalars(variant, change, _VARIANT_SCALARS)
        if change.barcode is not UNSET and variant.barcode != (code := barcodes.get(change.sku)):
            variant.barcode, changed = code, True
        if change.attributes is not UNSET and change.attributes != variant.attributes:
            variant.attributes, changed = dict(change.attributes), True
        if changed:
            variant.updated_at = now
            touched.append(variant)
    return touched


PRODUCTS = Keyset("products", datetime, uuid.UUID)


def _product_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    after = PRODUCTS.after(cursor)
    return (after[0], after[1]) if after else None


async def list_products(
    session: AsyncSession,
    *,
    category: str | None = None,
    q: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ProductOut]:
    """Oldest first; `category` includes its subtree; `channel` hides products not sold there."""
    rows = await repository.list_products(
        session,
        category=category,
        tsquery=rules.search_query(q) if q else None,
        channel=channel,
        after=_product_cursor(cursor),
        limit=limit + 1,
    )
    variants: dict[uuid.UUID, list[Variant]] = {}
    for v in await repository.variants_of(session, [p.id for p, _, _ in rows[:limit]]):
        variants.setdefault(v.product_id, []).append(v)
    items = [product_out(p, code, path, variants.get(p.id, [])) for p, code, path in rows]
    return PRODUCTS.page(items, limit, lambda p: [p.created_at, p.id])
