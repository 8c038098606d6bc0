"""Every SQL statement of the catalog."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, any_, bindparam, func, literal_column, not_, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.catalog.models import Category, Product, Variant
from app.core import db


def _any_text(values: Iterable[str]) -> Any:
    """`= ANY(:array)`: one array parameter, where IN (...) would send (and render) one per value."""
    return any_(bindparam("values", list(values), type_=ARRAY(String)))


class UniqueViolation(Exception):
    """A unique (or primary) key refused the write; `constraint` names which."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint or "unique violation")
        self.constraint = constraint


def _constraint_of(exc: IntegrityError) -> str | None:
    # asyncpg's error (the DBAPI error's cause) carries the constraint's name.
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return str(name) if name else None


async def save(session: AsyncSession, *objects: Any) -> None:
    """Write new or changed objects in one savepoint, so a duplicate key becomes
    UniqueViolation, nothing of this call stays written, and the request's transaction
    stays usable. Objects are flushed in the order given (products before their variants:
    the models have no relationships for the unit of work to order them by)."""
    try:
        async with session.begin_nested():
            previous: type | None = None
            for obj in objects:
                if previous is not None and type(obj) is not previous:
                    await session.flush()
                session.add(obj)
                previous = type(obj)
            await session.flush()
    except IntegrityError as exc:
        raise UniqueViolation(_constraint_of(exc)) from exc


# ---- categories -----------------------------------------------------------------------


async def category_by_code(session: AsyncSession, code: str) -> Category | None:
    result: Category | None = await session.scalar(select(Category).where(Category.code == code))
    return result


async def categories_by_codes(session: AsyncSession, codes: Iterable[str]) -> list[Category]:
    return list((await session.scalars(select(Category).where(Category.code == _any_text(codes)))).all())


async def list_categories(session: AsyncSession, *, under: str | None, after_path: str | None, limit: int) -> list[Any]:
    """(Category, parent code) ordered by path, which lists a tree depth first."""
    parent = aliased(Category)
    query = select(Category, parent.code).outerjoin(parent, parent.id == Category.parent_id)
    if under is not None:
        root = aliased(Category)
        query = query.join(root, root.code == under).where(
            or_(Category.id == root.id, func.starts_with(Category.path, root.path + "/"))
        )
    if after_path is not None:
        query = query.where(Category.path > after_path)
    return list((await session.execute(query.order_by(Category.path).limit(limit))).all())


async def insert_missing_categories(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    if values:
        await session.execute(insert(Category).values(values).on_conflict_do_nothing(index_elements=[Category.code]))


# ---- products and variants ------------------------------------------------------------


def _product_columns() -> tuple[Any, ...]:
    return (Product, Category.code, Category.path)


async def product_by_id(session: AsyncSession, product_id: uuid.UUID, *, for_update: bool = False) -> Any:
    """(Product, category code, category path) or None."""
    query = (
        select(*_product_columns())
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.id == product_id)
    )
    if for_update:
        query = query.with_for_update(of=Product)
    return (await session.execute(query)).first()


async def list_products(
    session: AsyncSession,
    *,
    category: str | None,
    tsquery: str | None,
    channel: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """A keyset page of (Product, category code, category path), oldest first."""
    query = select(*_product_columns()).outerjoin(Category, Category.id == Product.category_id)
    if category is not None:
        root = aliased(Category)
        subtree = (
            select(Category.id)
            .join(root, root.code == category)
            .where(or_(Category.id == root.id, func.starts_with(Category.path, root.path + "/")))
        )
        query = query.where(Product.category_id.in_(subtree))
    if tsquery is not None:
        query = query.where(Product.search.op("@@")(func.to_tsquery("simple", tsquery)))
    if channel is not None:
        query = query.where(not_(Product.not_sold_in.contains([channel])))
    if after is not None:
        query = query.where(tuple_(Product.created_at, Product.id) > tuple_(*after))
    query = query.order_by(Product.created_at, Product.id).limit(limit)
    return list((await session.execute(query)).all())


async def variants_of(session: AsyncSession, product_ids: Sequence[uuid.UUID]) -> list[Variant]:
    if not product_ids:
        return []
    query = select(Variant).where(Variant.product_id.in_(list(product_ids))).order_by(Variant.sku)
    return list((await session.scalars(query)).all())


async def variants_by_skus(session: AsyncSession, skus: Iterable[str]) -> list[Variant]:
    return list((await session.scalars(select(Variant).where(Variant.sku.in_(list(skus))))).all())


async def barcode_owners(session: AsyncSession, barcodes: Iterable[str]) -> list[Any]:
    """(sku, barcode) of the variants holding any of these barcodes."""
    codes = list(barcodes)
    if not codes:
        return []
    query = select(Variant.sku, Variant.barcode).where(Variant.barcode == _any_text(codes))
    return list((await session.execute(query)).all())


async def variant_details(
    session: AsyncSession, *, sku: str | None = None, barcodes: list[str] | None = None
) -> list[Any]:
    """(Variant, Product, category code, category path) by SKU or by any of the barcodes."""
    query = (
        select(Variant, *_product_columns())
        .join(Product, Product.id == Variant.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
    )
    query = query.where(Variant.sku == sku) if sku is not None else query.where(Variant.barcode.in_(barcodes or []))
    return list((await session.execute(query)).all())


# On every quote and reservation: plain SQL on the driver (app.core.db.fetch), where
# SQLAlchemy's per-statement work cost more CPU than the statement itself.
_VARIANT_FACTS = """
SELECT v.sku, p.id, p.category_id, c.path, p.not_sold_in, p.returnable
FROM variants v
JOIN products p ON p.id = v.product_id
LEFT JOIN categories c ON c.id = p.category_id
WHERE v.sku = ANY($1::text[])
"""


async def variant_facts(session: AsyncSession, skus: Iterable[str]) -> list[Any]:
    """Records (sku, id, category_id, path, not_sold_in, returnable) of the given SKUs."""
    return await db.fetch(session, _VARIANT_FACTS, list(skus))


# ---- bulk upsert (import) -------------------------------------------------------------

_PRODUCT_FIELDS = ("name", "brand", "category_id", "not_sold_in", "returnable")
_VARIANT_FIELDS = ("product_id", "size", "color", "attributes", "barcode", "weight_grams")


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


async def upsert_products(session: AsyncSession, values: list[dict[str, Any]]) -> list[Any]:
    """Insert or update products by code; rows that did not change are left alone.
    Returns (id, code, inserted) of the products written. The statement is compiled once
    and sent as batched multi-row VALUES (SQLAlchemy's insertmanyvalues), not per row."""
    if not values:
        return []
    return await _upsert(session, _table(Product), "code", _PRODUCT_FIELDS, values, ("id", "code"))


async def product_ids_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(Product.code, Product.id).where(Product.code == _any_text(codes)))
    return {code: pid for code, pid in rows.all()}


async def product_codes_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids_array = bindparam("ids", list(ids), type_=ARRAY(PG_UUID(as_uuid=True)))
    rows = await session.execute(select(Product.id, Product.code).where(Product.id == any_(ids_array)))
    return {pid: code for pid, code in rows.all()}


async def upsert_variants(session: AsyncSession, values: list[dict[str, Any]]) -> list[Any]:
    """Insert or update variants by SKU; unchanged rows are left alone.
    Returns (sku, product_id, inserted) of the variants written."""
    if not values:
        return []
    return await _upsert(session, _table(Variant), "sku", _VARIANT_FIELDS, values, ("sku", "product_id"))


async def _upsert(
    session: AsyncSession,
    table: Table,
    key: str,
    fields: tuple[str, ...],
    values: list[dict[str, Any]],
    returning: tuple[str, ...],
) -> list[Any]:
    stmt = insert(table)
    current = tuple_(*(table.c[f] for f in fields))
    proposed = tuple_(*(stmt.excluded[f] for f in fields))
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={**{f: stmt.excluded[f] for f in fields}, "updated_at": stmt.excluded.updated_at},
        # Unchanged rows are not rewritten: a re-import of the same file writes nothing.
        where=current.is_distinct_from(proposed),
    ).returning(*(table.c[c] for c in returning), literal_column("xmax = 0").label("inserted"))
    return list((await session.execute(upsert, values)).all())
