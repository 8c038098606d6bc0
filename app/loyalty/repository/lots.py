"""Statements on lots (points by earning and expiry) and the draws a redemption took from them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import column, func, select, update, values
from sqlalchemy.dialects.postgresql import BIGINT, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty.models import Draw, Lot


async def insert_lot(session: AsyncSession, **row: Any) -> int | None:
    """The new lot's id; None when (source_id, event_type) already earned."""
    return (
        await session.execute(
            insert(Lot)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["source_id", "event_type"])
            .returning(Lot.id)
        )
    ).scalar_one_or_none()


async def lot_by_key(session: AsyncSession, source_id: str, event_type: str) -> Lot | None:
    return (
        await session.scalars(
            select(Lot)
            .where(Lot.source_id == source_id, Lot.event_type == event_type)
            .execution_options(populate_existing=True)
        )
    ).first()


async def lots_by_id(session: AsyncSession, lot_ids: Sequence[int]) -> dict[int, Lot]:
    rows = await session.scalars(select(Lot).where(Lot.id.in_(list(lot_ids))).execution_options(populate_existing=True))
    return {lot.id: lot for lot in rows}


async def spendable_lots(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[int, int]]:
    """(lot id, remaining) of the account's available lots, oldest expiry first."""
    rows = await session.execute(
        select(Lot.id, Lot.remaining)
        .where(Lot.account_id == account_id, Lot.status == "available", Lot.remaining > 0)
        .order_by(Lot.expires_at, Lot.id)
    )
    return [(int(r[0]), int(r[1])) for r in rows]


def _deltas(rows: Sequence[tuple[int, int]], name: str = "d") -> Any:
    return values(column("lot_id", BIGINT), column("points", BIGINT), name=name).data([tuple(r) for r in rows])


async def take_from_lots(session: AsyncSession, draws: Sequence[tuple[int, int]], *, shrink: bool = False) -> None:
    """Lower `remaining` of each lot by its points (and `points` too when `shrink`: a
    reversal takes the points back for good). One statement for all lots."""
    if not draws:
        return
    delta = _deltas(draws)
    changes: dict[str, Any] = {"remaining": Lot.remaining - delta.c.points}
    if shrink:
        changes["points"] = Lot.points - delta.c.points
    await session.execute(update(Lot).where(Lot.id == delta.c.lot_id).values(**changes))


async def give_back_to_lots(session: AsyncSession, draws: Sequence[tuple[int, int]]) -> None:
    if not draws:
        return
    delta = _deltas(draws)
    await session.execute(update(Lot).where(Lot.id == delta.c.lot_id).values(remaining=Lot.remaining + delta.c.points))


async def cut_lot_spend(session: AsyncSession, cuts: Sequence[tuple[int, int]]) -> None:
    if not cuts:
        return
    delta = _deltas(cuts)
    await session.execute(
        update(Lot)
        .where(Lot.id == delta.c.lot_id)
        .values(spend_minor=func.greatest(Lot.spend_minor - delta.c.points, 0))
    )


async def move_lots(session: AsyncSession, from_account: uuid.UUID, to_account: uuid.UUID) -> None:
    await session.execute(update(Lot).where(Lot.account_id == from_account).values(account_id=to_account))


async def upcoming_expiries(session: AsyncSession, account_id: uuid.UUID, limit: int) -> list[tuple[date, int]]:
    """Points expiring per day (UTC), soonest first: pending and available lots."""
    day = func.date(func.timezone("UTC", Lot.expires_at))
    rows = await session.execute(
        select(day, func.sum(Lot.remaining))
        .where(Lot.account_id == account_id, Lot.remaining > 0)
        .group_by(day)
        .order_by(day)
        .limit(limit)
    )
    return [(r[0], int(r[1])) for r in rows]


async def insert_draws(session: AsyncSession, entry_id: int, draws: Sequence[tuple[int, int]]) -> None:
    if draws:
        await session.execute(
            insert(Draw), [{"entry_id": entry_id, "lot_id": lot_id, "points": points} for lot_id, points in draws]
        )


async def restorable_draws(session: AsyncSession, entry_id: int) -> list[tuple[int, int]]:
    """(lot id, points not yet given back) of a redemption, latest expiry first: a partial
    restore gives back the longest-lived points."""
    rows = await session.execute(
        select(Draw.lot_id, Draw.points - Draw.restored)
        .join(Lot, Lot.id == Draw.lot_id)
        .where(Draw.entry_id == entry_id, Draw.restored < Draw.points)
        .order_by(Lot.expires_at.desc(), Lot.id.desc())
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def mark_restored(session: AsyncSession, entry_id: int, draws: Sequence[tuple[int, int]]) -> None:
    if not draws:
        return
    delta = _deltas(draws)
    await session.execute(
        update(Draw)
        .where(Draw.entry_id == entry_id, Draw.lot_id == delta.c.lot_id)
        .values(restored=Draw.restored + delta.c.points)
    )
