"""Pricing test data: a small shop (categories, products, SKUs) and helpers that go through
the pricing service, so the data is what the API would have written."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.pricing import service
from app.pricing.models import Price, Promotion
from app.pricing.rules import Kind
from app.pricing.schemas import CodesCreate, PriceCreate, PromotionCreate, TargetIn
from tests.factories import persist
from tests.factories.catalog import CategoryFactory, ProductFactory, VariantFactory


async def shop(session: AsyncSession, prefix: str = "") -> dict[str, uuid.UUID]:
    """SKUs SHIRT (apparel/tops), SOCKS (apparel), MUG (home); returns sku -> product id.
    `prefix` keeps codes apart when several shops share committed tables."""
    apparel = CategoryFactory(code=f"{prefix}apparel")
    tops = CategoryFactory(code=f"{prefix}tops", parent=apparel)
    home = CategoryFactory(code=f"{prefix}home")
    shirt = ProductFactory(category=tops)
    socks = ProductFactory(category=apparel)
    mug = ProductFactory(category=home)
    await persist(
        session,
        apparel,
        home,
        tops,
        shirt,
        socks,
        mug,
        VariantFactory(product=shirt, sku=f"{prefix}SHIRT"),
        VariantFactory(product=socks, sku=f"{prefix}SOCKS"),
        VariantFactory(product=mug, sku=f"{prefix}MUG"),
    )
    return {f"{prefix}SHIRT": shirt.id, f"{prefix}SOCKS": socks.id, f"{prefix}MUG": mug.id}


async def set_price(
    session: AsyncSession,
    sku: str,
    amount: int,
    *,
    currency: str = "EUR",
    zone: str = "default",
    valid_from: datetime | None = None,
    compare_at: int | None = None,
) -> Price:
    return await service.set_price(
        session,
        PriceCreate(
            sku=sku, currency=currency, amount=amount, zone=zone, valid_from=valid_from, compare_at_amount=compare_at
        ),
    )


async def promotion(session: AsyncSession, kind: Kind, *, code: str | None = None, **fields: Any) -> Promotion:
    """A promotion live since an hour ago; with `code`, unlocked by that code (max_uses from
    `code_max_uses`)."""
    max_uses = fields.pop("code_max_uses", None)
    if "target" in fields and isinstance(fields["target"], dict):
        fields["target"] = TargetIn(**fields["target"])
    fields.setdefault("starts_at", clock.now() - timedelta(hours=1))
    created = await service.create_promotion(
        session,
        PromotionCreate(
            kind=kind, name=fields.pop("name", f"{kind} promotion"), requires_code=code is not None, **fields
        ),
    )
    if code is not None:
        await service.add_codes(session, created.id, CodesCreate(code=code, max_uses=max_uses))
    return created
