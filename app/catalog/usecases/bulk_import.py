"""The bulk import (CSV and demo seeding), idempotent by SKU; the CSV format is in
`app/catalog/service.py`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, rules
from app.catalog.rules import CatalogRow, RowError
from app.core import clock, outbox


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
