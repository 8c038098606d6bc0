"""Statements on locations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.models import Location


async def location(session: AsyncSession, code: str, *, lock: bool = False) -> Location | None:
    query = select(Location).where(Location.code == code)
    if lock:
        query = query.with_for_update()
    result: Location | None = await session.scalar(query)
    return result


async def existing_location_codes(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    rows = await session.scalars(select(Location.code).where(Location.code.in_(list(codes))))
    return set(rows.all())


async def locations_by_code(session: AsyncSession, codes: Sequence[str]) -> list[Location]:
    rows = await session.scalars(select(Location).where(Location.code.in_(list(codes))))
    return list(rows.all())


async def add_location(session: AsyncSession, loc: Location) -> bool:
    """False when the code is taken (the request's transaction stays usable)."""
    try:
        async with session.begin_nested():
            session.add(loc)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def list_locations(
    session: AsyncSession,
    *,
    kind: str | None,
    ships: bool | None,
    pickup: bool | None,
    after: str | None,
    limit: int | None,
) -> list[Location]:
    query = select(Location).order_by(Location.code)
    if kind is not None:
        query = query.where(Location.kind == kind)
    if ships is not None:
        query = query.where(Location.ships == ships)
    if pickup is not None:
        query = query.where(Location.pickup == pickup)
    if after is not None:
        query = query.where(Location.code > after)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def location_in_use(session: AsyncSession, code: str) -> bool:
    row = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM stock_levels WHERE location_code = :c)"
            " OR EXISTS (SELECT 1 FROM stock_movements WHERE location_code = :c)"
            " OR EXISTS (SELECT 1 FROM transfers WHERE from_location = :c OR to_location = :c)"
            " OR EXISTS (SELECT 1 FROM stock_sync_batches WHERE location_code = :c)"
            " OR EXISTS (SELECT 1 FROM reservation_lines WHERE location_code = :c)"
        ),
        {"c": code},
    )
    return bool(row.scalar())


async def delete_location(session: AsyncSession, loc: Location) -> None:
    await session.delete(loc)
    await session.flush()
