"""Statements on price zones, their delivery fees and areas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing.models import DEFAULT_ZONE, DeliveryFee, PriceZone, ZoneArea


async def ensure_default_zone(session: AsyncSession) -> None:
    """The default zone always exists (the migration seeds it; this repairs an emptied table)."""
    await session.execute(
        insert(PriceZone).values(code=DEFAULT_ZONE, name="Default").on_conflict_do_nothing(index_elements=["code"])
    )


async def insert_zone(session: AsyncSession, code: str, name: str) -> bool:
    inserted = await session.execute(
        insert(PriceZone)
        .values(code=code, name=name)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(PriceZone.code)
    )
    return inserted.first() is not None


async def get_zone(session: AsyncSession, code: str, *, lock: bool = False) -> PriceZone | None:
    query = select(PriceZone).where(PriceZone.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    zone: PriceZone | None = (await session.scalars(query)).first()
    return zone


async def zone_page(session: AsyncSession, after: str | None, limit: int) -> list[PriceZone]:
    query = select(PriceZone).order_by(PriceZone.code).limit(limit + 1)
    if after is not None:
        query = query.where(PriceZone.code > after)
    return list((await session.scalars(query)).all())


async def fees_and_areas(session: AsyncSession, codes: Sequence[str]) -> tuple[list[DeliveryFee], list[ZoneArea]]:
    fees = await session.scalars(
        select(DeliveryFee).where(DeliveryFee.zone_code.in_(codes)).order_by(DeliveryFee.currency)
    )
    areas = await session.scalars(
        select(ZoneArea).where(ZoneArea.zone_code.in_(codes)).order_by(ZoneArea.country, ZoneArea.postal_prefix)
    )
    return list(fees.all()), list(areas.all())


async def replace_fees(session: AsyncSession, code: str, fees: Iterable[tuple[str, int]]) -> None:
    await session.execute(delete(DeliveryFee).where(DeliveryFee.zone_code == code))
    rows = [{"zone_code": code, "currency": currency, "amount": amount} for currency, amount in fees]
    if rows:
        await session.execute(insert(DeliveryFee).values(rows))


async def areas_of_other_zones(session: AsyncSession, code: str, areas: Sequence[tuple[str, str]]) -> list[Any]:
    if not areas:
        return []
    rows = await session.execute(
        select(ZoneArea.country, ZoneArea.postal_prefix, ZoneArea.zone_code).where(
            func.row(ZoneArea.country, ZoneArea.postal_prefix).in_([func.row(c, p) for c, p in areas]),
            ZoneArea.zone_code != code,
        )
    )
    return list(rows.all())


async def replace_areas(session: AsyncSession, code: str, areas: Iterable[tuple[str, str]]) -> None:
    await session.execute(delete(ZoneArea).where(ZoneArea.zone_code == code))
    rows = [{"zone_code": code, "country": country, "postal_prefix": prefix} for country, prefix in areas]
    if rows:
        await session.execute(insert(ZoneArea).values(rows))


async def zone_for_address(session: AsyncSession, country: str, postal_code: str) -> str | None:
    """The zone of the longest postal prefix of the country that the postal code starts with."""
    zone: str | None = await session.scalar(
        select(ZoneArea.zone_code)
        .where(ZoneArea.country == country, func.starts_with(postal_code, ZoneArea.postal_prefix))
        .order_by(func.length(ZoneArea.postal_prefix).desc())
        .limit(1)
    )
    return zone
