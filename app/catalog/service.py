"""Catalog use cases.

Public functions (other domains call only these):
- `variant_facts(session, skus) -> dict[str, VariantFacts]`: what pricing, inventory and
  returns need to know of a SKU (product, category path, channels it is not sold in,
  returnable). Unknown SKUs are absent from the result.
- `create_category(session, body: CategoryCreate) -> CategoryOut`
- `list_categories(session, *, under, limit, cursor) -> Page[CategoryOut]` (depth first by path)
- `create_product(session, body: ProductCreate) -> ProductOut` (variants inline)
- `update_product(session, product_id, body: ProductUpdate) -> ProductOut` (adds/updates variants)
- `get_product(session, product_id) -> ProductOut`
- `list_products(session, *, category, q, channel, limit, cursor) -> Page[ProductOut]`
- `get_variant(session, sku) -> VariantDetail`
- `find_variant_by_barcode(session, barcode) -> VariantDetail` (any GTIN form: UPC-A as 12 or 13 digits)
- `upsert_catalog(session, rows, *, chunk_size=1000) -> ImportReport`: the bulk import
  (CSV and demo seeding), idempotent by SKU.

Bulk import CSV (`oms catalog import FILE.csv`; parsed by `rules.read_catalog_csv`), one line
per variant, header on line 1, columns in any order:

  product_code   required; the product's code (variants of one product share it)
  product_name   required
  sku            required; the retailer's key of the variant: re-importing a SKU updates it
  brand          optional
  category_path  optional; category codes from the root, '/'-separated ("apparel/tops");
                 missing categories are created
  category_code  optional; an existing category (when there is no category_path)
  category_name  optional; name of the last category of the path when the import creates it
  size, color    optional
  barcode        optional; EAN-8, UPC-A, EAN-13 or GTIN-14 with a valid check digit
  weight_grams   optional; whole grams
  not_sold_in    optional; channels where it is not sold, '|'-separated (web|kiosk)
  returnable     optional; true/false (default true)
  attr.<name>    optional; any number of variant attributes ("attr.material")

Product fields repeat on every line of a product; the last line wins. The import sets every
field above (blank = empty) and leaves description and product attributes, which only the
API edits, alone. A bad line is reported with its line number and the others still import.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, rules
from app.catalog.errors import (
    BarcodeTaken,
    CategoryCodeTaken,
    DuplicateInRequest,
    ProductCodeTaken,
    SkuTaken,
    UnknownBarcode,
    UnknownCategory,
    UnknownProduct,
    UnknownSku,
)
from app.catalog.models import Category, Product, Variant
from app.catalog.rules import CatalogRow, RowError
from app.catalog.schemas import (
    CategoryCreate,
    CategoryOut,
    ProductCreate,
    ProductOut,
    ProductSummary,
    ProductUpdate,
    VariantChange,
    VariantCreate,
    VariantDetail,
    VariantOut,
)
from app.core import clock, outbox
from app.core.errors import Conflict
from app.core.pagination import Keyset, Page


class VariantFacts(msgspec.Struct, frozen=True):
    sku: str
    product_id: uuid.UUID
    category_id: uuid.UUID | None
    # Category codes from the root down, e.g. ("apparel", "tops", "shirts").
    category_path: tuple[str, ...]
    not_sold_in: frozenset[str]
    returnable: bool

    def sold_in(self, channel: str | None) -> bool:
        return channel is None or channel not in self.not_sold_in


async def variant_facts(session: AsyncSession, skus: Iterable[str]) -> dict[str, VariantFacts]:
    rows = await repository.variant_facts(session, set(skus))
    return {
        row["sku"]: VariantFacts(
            sku=row["sku"],
            product_id=row["id"],
            category_id=row["category_id"],
            category_path=tuple(row["path"].split("/")) if row["path"] else (),
            not_sold_in=frozenset(row["not_sold_in"] or ()),
            returnable=row["returnable"],
        )
        for row in rows
    }


# ---- shaping ------------------------------------------------------------------------------


def _category_out(category: Category, parent_code: str | None) -> CategoryOut:
    return CategoryOut(
        id=category.id,
        code=category.code,
        name=category.name,
        parent=parent_code,
        path=category.path,
        created_at=category.created_at,
    )


def _variant_out(v: Variant) -> VariantOut:
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


def _product_out(
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
        variants=[_variant_out(v) for v in sorted(variants, key=lambda v: v.sku)],
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _detail(v: Variant, p: Product, category_code: str | None, category_path: str | None) -> VariantDetail:
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


async def _save(session: AsyncSession, *objects: Any) -> None:
    """Write, turning a duplicate key (e.g. two requests racing for one SKU) into its problem."""
    try:
        await repository.save(session, *objects)
    except repository.UniqueViolation as exc:
        problem = _CONFLICTS.get(exc.constraint or "", Conflict)
        raise problem("another record already uses this value") from None


async def _record(session: AsyncSession, event: str, product: Product, skus: list[str]) -> None:
    await outbox.record(
        session,
        event,
        aggregate_type="product",
        aggregate_id=str(product.id),
        payload={"product_id": str(product.id), "code": product.code, "skus": skus},
    )


# ---- categories ---------------------------------------------------------------------------


async def create_category(session: AsyncSession, body: CategoryCreate) -> CategoryOut:
    parent = None
    if body.parent is not None:
        parent = await repository.category_by_code(session, body.parent)
        if parent is None:
            raise UnknownCategory(f"no category has code {body.parent!r}", field="parent")
    category = Category(
        id=uuid.uuid4(),
        code=body.code,
        name=body.name,
        parent_id=parent.id if parent else None,
        path=rules.category_path(parent.path if parent else None, body.code),
        created_at=clock.now(),
    )
    await _save(session, category)
    return _category_out(category, body.parent)


async def list_categories(
    session: AsyncSession, *, under: str | None, limit: int, cursor: str | None
) -> Page[CategoryOut]:
    after = CATEGORIES.after(cursor)
    rows = await repository.list_categories(
        session, under=under, after_path=after[0] if after else None, limit=limit + 1
    )
    return CATEGORIES.page([_category_out(c, parent) for c, parent in rows], limit, lambda c: [c.path])


# ---- products -----------------------------------------------------------------------------


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
    await _save(session, product, *variants)
    await _record(session, "catalog.product_created", product, [v.sku for v in variants])
    return _product_out(product, category.code if category else None, category.path if category else None, variants)


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> ProductOut:
    row = await repository.product_by_id(session, product_id)
    if row is None:
        raise UnknownProduct(f"no product has id {product_id}")
    product, category_code, category_path = row
    return _product_out(product, category_code, category_path, await repository.variants_of(session, [product.id]))


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
        await _save(session, product, *touched)
        await _record(session, "catalog.product_updated", product, [v.sku for v in touched])
    variants = await repository.variants_of(session, [product.id])
    return _product_out(product, category_code, category_path, variants)


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


CATEGORIES = Keyset("categories", str)
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
    items = [_product_out(p, code, path, variants.get(p.id, [])) for p, code, path in rows]
    return PRODUCTS.page(items, limit, lambda p: [p.created_at, p.id])


async def get_variant(session: AsyncSession, sku: str) -> VariantDetail:
    rows = await repository.variant_details(session, sku=sku)
    if not rows:
        raise UnknownSku(f"no variant has SKU {sku!r}", sku=sku)
    return _detail(*rows[0])


async def find_variant_by_barcode(session: AsyncSession, barcode: str) -> VariantDetail:
    code = rules.validate_barcode(barcode)
    rows = await repository.variant_details(session, barcodes=rules.barcode_equivalents(code))
    if not rows:
        raise UnknownBarcode(f"no variant has barcode {code}", barcode=code)
    # The exact form first, should two forms of one GTIN ever both be stored.
    rows.sort(key=lambda r: r[0].barcode != code)
    return _detail(*rows[0])


# ---- bulk import --------------------------------------------------------------------------


class ImportReport(msgspec.Struct, kw_only=True):
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    errors: list[RowError] = msgspec.field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        self.rows += other.rows
        self.products_created += other.products_created
        self.products_updated += other.products_updated
        self.variants_created += other.variants_created
        self.variants_updated += other.variants_updated
        self.variants_unchanged += other.variants_unchanged
        self.errors.extend(other.errors)


def _chunks(rows: Iterable[CatalogRow], size: int) -> Iterator[list[CatalogRow]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


async def upsert_catalog(session: AsyncSession, rows: Iterable[CatalogRow], *, chunk_size: int = 1000) -> ImportReport:
    """Insert or update products, variants (by SKU) and categories; a few statements per
    chunk of rows, never one per row. Rows that cannot be written are in `errors`."""
    report = ImportReport()
    for chunk in _chunks(rows, chunk_size):
        report.add(await _upsert_chunk(session, chunk))
    return report


async def _upsert_chunk(session: AsyncSession, rows: list[CatalogRow]) -> ImportReport:
    report = ImportReport(rows=len(rows))
    rows = _without_duplicates(rows, report.errors)
    errors: list[RowError] = []
    try:
        async with session.begin_nested():
            category_ids = await _ensure_categories(session, rows, errors)
            rows = [r for r in rows if (key := _category_key(r)) is None or key in category_ids]
            rows = await _without_taken_barcodes(session, rows, errors)
            if rows:
                await _write_chunk(session, rows, category_ids, report)
    except IntegrityError:
        # A concurrent writer took a barcode or category code between our check and the write.
        report = ImportReport(rows=report.rows, errors=report.errors)
        errors.extend(
            RowError(line=r.line, code="conflict", message="a concurrent change conflicts; import again", sku=r.sku)
            for r in rows
        )
    report.errors.extend(errors)
    report.errors.sort(key=lambda e: e.line)
    return report


def _without_duplicates(rows: list[CatalogRow], errors: list[RowError]) -> list[CatalogRow]:
    seen_skus: dict[str, int] = {}
    seen_barcodes: dict[str, tuple[int, str]] = {}
    kept = []
    for row in rows:
        error = rules.duplicate_error(row, seen_skus, seen_barcodes)
        if error is None:
            kept.append(row)
        else:
            errors.append(error)
    return kept


def _category_key(row: CatalogRow) -> str | None:
    """What the row names: a path ('a/b') or, with no path, an existing code ('=b')."""
    if row.category_path:
        return row.category_path
    return f"={row.category_code}" if row.category_code else None


async def _ensure_categories(
    session: AsyncSession, rows: list[CatalogRow], errors: list[RowError]
) -> dict[str, uuid.UUID]:
    """Create the missing categories of the rows' paths (one statement); returns category
    key -> id for the rows whose category is usable and records an error for each other row."""
    paths = {r.category_path for r in rows if r.category_path}
    codes = {code for p in paths for code in rules.path_codes(p)} | {r.category_code for r in rows if r.category_code}
    if not codes:
        return {}
    existing = await repository.categories_by_codes(session, codes)
    path_of = {c.code: c.path for c in existing}
    id_of = {c.code: c.id for c in existing}
    names = {r.category_path: r.category_name for r in rows if r.category_path and r.category_name}
    planned: list[dict[str, Any]] = []
    for path in sorted(paths, key=lambda p: p.count("/")):
        for prefix in rules.path_prefixes(path):  # root first: a parent is known before its child
            code = rules.path_codes(prefix)[-1]
            if code in path_of:
                continue
            parent = rules.parent_path_of(prefix)
            parent_code = rules.path_codes(parent)[-1] if parent else None
            if parent_code is not None and path_of.get(parent_code) != parent:
                break  # the parent lives elsewhere in the tree: the row gets an error below
            id_of[code], path_of[code] = uuid.uuid4(), prefix
            planned.append(
                {
                    "id": id_of[code],
                    "code": code,
                    "name": names.get(prefix) or code,
                    "parent_id": id_of[parent_code] if parent_code else None,
                    "path": prefix,
                    "created_at": clock.now(),
                }
            )
    await repository.insert_missing_categories(session, planned)
    result: dict[str, uuid.UUID] = {}
    for row in rows:
        key = _category_key(row)
        if key is None:
            continue
        code = rules.path_codes(row.category_path)[-1] if row.category_path else row.category_code or ""
        if code not in path_of:
            errors.append(
                RowError(line=row.line, code="unknown_category", message=f"no category {code!r}", sku=row.sku)
            )
        elif row.category_path and path_of[code] != row.category_path:
            errors.append(
                RowError(
                    line=row.line,
                    code="category_path_conflict",
                    message=f"category {code!r} is at {path_of[code]!r}, not {row.category_path!r}",
                    sku=row.sku,
                )
            )
        else:
            result[key] = id_of[code]
    return result


async def _without_taken_barcodes(
    session: AsyncSession, rows: list[CatalogRow], errors: list[RowError]
) -> list[CatalogRow]:
    claims = {rules.gtin14(r.barcode): r for r in rows if r.barcode}
    forms = [form for r in claims.values() for form in rules.barcode_equivalents(r.barcode or "")]
    taken: set[str] = set()
    for owner_sku, owner_barcode in await repository.barcode_owners(session, forms):
        row = claims[rules.gtin14(owner_barcode)]
        if owner_sku != row.sku:
            taken.add(row.sku)
            errors.append(
                RowError(
                    line=row.line,
                    code="barcode_taken",
                    message=f"barcode {row.barcode} belongs to SKU {owner_sku}",
                    sku=row.sku,
                )
            )
    return [r for r in rows if r.sku not in taken]


async def _write_chunk(
    session: AsyncSession, rows: list[CatalogRow], category_ids: dict[str, uuid.UUID], report: ImportReport
) -> None:
    now = clock.now()
    products: dict[str, dict[str, Any]] = {}
    for r in rows:  # the last line of a product wins
        key = _category_key(r)
        products[r.product_code] = {
            "id": uuid.uuid4(),
            "code": r.product_code,
            "name": r.product_name,
            "brand": r.brand,
            "category_id": category_ids.get(key) if key else None,
            "not_sold_in": rules.normalize_channels(r.not_sold_in),
            "returnable": r.returnable,
            "description": "",
            "attributes": {},
            "created_at": now,
            "updated_at": now,
        }
    written = await repository.upsert_products(session, list(products.values()))
    ids = {code: pid for pid, code, _ in written}
    unchanged = [code for code in products if code not in ids]
    if unchanged:
        ids.update(await repository.product_ids_by_code(session, unchanged))
    variants = [
        {
            "sku": r.sku,
            "product_id": ids[r.product_code],
            "size": r.size,
            "color": r.color,
            "attributes": r.attributes,
            "barcode": r.barcode,
            "weight_grams": r.weight_grams,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
    ]
    written_variants = await repository.upsert_variants(session, variants)
    report.variants_created = sum(1 for v in written_variants if v.inserted)
    report.variants_updated = len(written_variants) - report.variants_created
    report.variants_unchanged = len(variants) - len(written_variants)
    report.products_created, report.products_updated = await _record_import_events(session, written, written_variants)


async def _record_import_events(session: AsyncSession, products: list[Any], variants: list[Any]) -> tuple[int, int]:
    """One event per product written or whose variants were; returns (created, updated)."""
    created = {p.id for p in products if p.inserted}
    skus: dict[uuid.UUID, list[str]] = {}
    for v in variants:
        skus.setdefault(v.product_id, []).append(v.sku)
    codes = {p.id: p.code for p in products}
    touched = set(codes) | set(skus)
    missing = [pid for pid in touched if pid not in codes]
    if missing:
        codes.update(await repository.product_codes_by_id(session, missing))
    for pid in sorted(touched, key=str):
        await outbox.record(
            session,
            "catalog.product_created" if pid in created else "catalog.product_updated",
            aggregate_type="product",
            aggregate_id=str(pid),
            payload={"product_id": str(pid), "code": codes[pid], "skus": sorted(skus.get(pid, []))},
        )
    return len(created), len(touched) - len(created)
