"""The price in force of one SKU and its next scheduled change (the variant offer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing.models import Price


async def prices_around(
    session: AsyncSession, sku: str, zones: Sequence[str], currency: str, now: datetime
) -> tuple[list[Price], list[Price]]:
    """Per zone of `zones`: the price in force at `now` (latest `valid_from <= now`) and the
    next scheduled one (earliest `valid_from > now`), if any."""
    in_force = (
        select(Price)
        .where(Price.sku == sku, Price.zone_code.in_(list(zones)), Price.currency == currency, Price.valid_from <= now)
        .distinct(Price.zone_code)
        .order_by(Price.zone_code, Price.valid_from.desc(), Price.id.desc())
    )
    upcoming = (
        select(Price)
        .where(Price.sku == sku, Price.zone_code.in_(list(zones)), Price.currency == currency, Price.valid_from > now)
        .distinct(Price.zone_code)
        .order_by(Price.zone_code, Price.valid_from, Price.id)
    )
    return list((await session.scalars(in_force)).all()), list((await session.scalars(upcoming)).all())
