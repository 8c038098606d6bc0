"""Catalog use cases.

Public functions (other domains call only these):
- `variant_facts(session, skus) -> dict[str, VariantFacts]`: what pricing, inventory and
  returns need to know of a SKU (product, category path, channels it is not sold in,
  returnable). Unknown SKUs are absent from the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository


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
        row.sku: VariantFacts(
            sku=row.sku,
            product_id=row.id,
            category_id=row.category_id,
            category_path=tuple(row.path.split("/")) if row.path else (),
            not_sold_in=frozenset(row.not_sold_in or ()),
            returnable=row.returnable,
        )
        for row in rows
    }
