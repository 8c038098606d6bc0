"""Variants as other domains and callers read them: facts by SKU, a variant by SKU or barcode."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, rules
from app.catalog.errors import UnknownBarcode, UnknownSku
from app.catalog.schemas import VariantDetail
from app.catalog.usecases.common import detail


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


async def get_variant(session: AsyncSession, sku: str) -> VariantDetail:
    rows = await repository.variant_details(session, sku=sku)
    if not rows:
        raise UnknownSku(f"no variant has SKU {sku!r}", sku=sku)
    return detail(*rows[0])


async def find_variant_by_barcode(session: AsyncSession, barcode: str) -> VariantDetail:
    code = rules.validate_barcode(barcode)
    rows = await repository.variant_details(session, barcodes=rules.barcode_equivalents(code))
    if not rows:
        raise UnknownBarcode(f"no variant has barcode {code}", barcode=code)
    # The exact form first, should two forms of one GTIN ever both be stored.
    rows.sort(key=lambda r: r[0].barcode != code)
    return detail(*rows[0])
