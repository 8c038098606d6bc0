"""Every SQL statement of the loyalty domain.

Lock order, everywhere: the account row first (a conditional UPDATE or `FOR UPDATE`),
then its lots. Two accounts (a merge, a batch job) are locked in id order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Uuid, and_, column, func, select, text, update, values
from sqlalchemy.dialects.postgresql import BIGINT, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.models import OutboxEvent
from app.loyalty.models import Draw, EarningLine, LedgerEntry, Lot, LoyaltyAccount, Reversal, ReversalLine

_hit = aliased(LoyaltyAccount, name="hit")

# ---- accounts -----------------------------------------------------------------------------


async def account_by_card(session: AsyncSession, card_number: str, *, lock: bool = False) -> LoyaltyAccount | None:
    """The account of a card, or of the card it was merged into (merges are flattened)."""
    stmt = (
        select(LoyaltyAccount)
        .join(_hit, LoyaltyAccount.id == func.coalesce(_hit.merged_into_id, _hit.id))
        .where(_hit.card_number == card_number)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=LoyaltyAccount)
    return (await session.scalars(stmt)).first()


async def live_account_of_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False
) -> LoyaltyAccount | None:
    stmt = (
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer_id, LoyaltyAccount.merged_into_id.is_(None))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def account_by_id(session: AsyncSession, account_id: uuid.UUID, *, lock: bool = False) -> LoyaltyAccount | None:
    stmt = select(LoyaltyAccount).where(LoyaltyAccount.id == account_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def insert_account(
    session: AsyncSession, *, card_number: str, customer_id: uuid.UUID, tier: str, now: datetime
) -> None:
    """Idempotent: a card (or customer) that already has its account keeps it."""
    await session.execute(
        insert(LoyaltyAccount)
        .values(
            id=uuid.uuid4(), card_number=card_number, customer_id=customer_id, tier=tier, created_at=now, updated_at=now
        )
        .on_conflict_do_nothing()
    )


async def lock_accounts(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        select(LoyaltyAccount.id)
        .where(LoyaltyAccount.id.in_(list(account_ids)))
        .order_by(LoyaltyAccount.id)
        .with_for_update()
    )


async def take_available(session: AsyncSession, account_id: uuid.UUID, points: int, now: datetime) -> int | None:
    """The redemption guard: one conditional UPDATE, no read-then-write. The new available
    balance, or None when the card has fewer than `points` available."""
    return (
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.id == account_id, LoyaltyAccount.available >= points)
            .values(available=LoyaltyAccount.available - points, updated_at=now)
            .returning(LoyaltyAccount.available)
        )
    ).scalar_one_or_none()


async def change_balances(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    available: int = 0,
    pending: int = 0,
    now: datetime,
    tier: str | None = None,
    spend_minor: int | None = None,
) -> tuple[int, int]:
    changes: dict[str, Any] = {
        "available": LoyaltyAccount.available + available,
        "pending": LoyaltyAccount.pending + pending,
        "updated_at": now,
    }
    if tier is not None:
        changes["tier"] = tier
    if spend_minor is not None:
        changes["spend_minor"] = spend_minor
    row = (
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.id == account_id)
            .values(**changes)
            .returning(LoyaltyAccount.available, LoyaltyAccount.pending)
        )
    ).one()
    return int(row[0]), int(row[1])


async def close_merged_account(
    session: AsyncSession, absorbed_id: uuid.UUID, survivor_id: uuid.UUID, now: datetime
) -> None:
    """Empty the absorbed account, point it (and accounts merged into it) at the survivor."""
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == absorbed_id)
        .values(available=0, pending=0, spend_minor=0, merged_into_id=survivor_id, updated_at=now)
    )
    await session.execute(
        update(LoyaltyAccount).where(LoyaltyAccount.merged_into_id == absorbed_id).values(merged_into_id=survivor_id)
    )


async def rolling_spend(session: AsyncSession, account_id: uuid.UUID, since: datetime) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Lot.spend_minor), 0)).where(
            Lot.account_id == account_id, Lot.earned_at > since, Lot.spend_minor > 0
        )
    )
    return int(total or 0)


# ---- ledger -------------------------------------------------------------------------------


async def insert_entry(session: AsyncSession, **row: Any) -> int | None:
    """The new entry's id; None when its `dedupe_key` was already used."""
    return (
        await session.execute(
            insert(LedgerEntry)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(LedgerEntry.id)
        )
    ).scalar_one_or_none()


async def insert_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(LedgerEntry), rows)


async def entry_by_id(session: AsyncSession, entry_id: int) -> LedgerEntry | None:
    return await session.get(LedgerEntry, entry_id)


async def lock_lines(session: AsyncSession, line_ids: Sequence[str]) -> None:
    """Serialize earnings and returns of the same order lines (a return may arrive before
    its sale): transaction-scoped advisory locks, taken in one fixed order."""
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(h) FROM ("
            " SELECT DISTINCT hashtextextended('loyalty-line:' || k, 0) AS h"
            " FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS s"
        ),
        {"keys": list(line_ids)},
    )


async def entry_by_dedupe_key(session: AsyncSession, dedupe_key: str) -> LedgerEntry | None:
    return (await session.scalars(select(LedgerEntry).where(LedgerEntry.dedupe_key == dedupe_key))).first()


async def ledger_page(
    session: AsyncSession, account_id: uuid.UUID, *, before_id: int | None, limit: int
) -> list[LedgerEntry]:
    """Newest first; `limit + 1` rows so the caller knows whether there is a next page."""
    stmt = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if before_id is not None:
        stmt = stmt.where(LedgerEntry.id < before_id)
    return list((await session.scalars(stmt.order_by(LedgerEntry.id.desc()).limit(limit + 1))).all())


async def ledger_sum(session: AsyncSession, account_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.account_id == account_id)
        )
        or 0
    )


# ---- lots ---------------------------------------------------------------------------------


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


# ---- earning lines, draws -----------------------------------------------------------------


async def insert_earning_lines(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(EarningLine), rows)


async def earning_lines(session: AsyncSession, lot_id: int) -> list[EarningLine]:
    return list(
        (
            await session.scalars(
                select(EarningLine)
                .where(EarningLine.lot_id == lot_id)
                .order_by(EarningLine.line_id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def earning_lines_for(session: AsyncSession, line_ids: Sequence[str]) -> list[tuple[EarningLine, uuid.UUID]]:
    """The earning line of each order line (with its lot's account), where one was earned."""
    rows = await session.execute(
        select(EarningLine, Lot.account_id)
        .join(Lot, Lot.id == EarningLine.lot_id)
        .where(EarningLine.line_id.in_(list(line_ids)))
        .order_by(EarningLine.line_id, EarningLine.lot_id)
        .execution_options(populate_existing=True)
    )
    return [(r[0], r[1]) for r in rows]


async def record_line_refund(session: AsyncSession, lot_id: int, line_id: str, refunded: int, reversed_: int) -> None:
    await session.execute(
        update(EarningLine)
        .where(EarningLine.lot_id == lot_id, EarningLine.line_id == line_id)
        .values(
            refunded_minor=EarningLine.refunded_minor + refunded,
            reversed_points=EarningLine.reversed_points + reversed_,
        )
    )


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


# ---- reversals ----------------------------------------------------------------------------


async def insert_reversal(session: AsyncSession, **row: Any) -> bool:
    inserted = (
        await session.execute(insert(Reversal).values(**row).on_conflict_do_nothing().returning(Reversal.source_id))
    ).scalar_one_or_none()
    return inserted is not None


async def reversal(session: AsyncSession, source_id: str, event_type: str) -> Reversal | None:
    return await session.get(Reversal, (source_id, event_type), populate_existing=True)


async def insert_reversal_lines(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ReversalLine), rows)


async def reversal_lines(session: AsyncSession, source_id: str, event_type: str) -> list[ReversalLine]:
    return list(
        (
            await session.scalars(
                select(ReversalLine)
                .where(ReversalLine.source_id == source_id, ReversalLine.event_type == event_type)
                .order_by(ReversalLine.line_id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def waiting_reversal_lines(
    session: AsyncSession, line_ids: Sequence[str]
) -> list[tuple[ReversalLine, str | None]]:
    """Return lines that arrived before their sale, with their return's channel, oldest first."""
    rows = await session.execute(
        select(ReversalLine, Reversal.channel)
        .join(
            Reversal,
            and_(Reversal.source_id == ReversalLine.source_id, Reversal.event_type == ReversalLine.event_type),
        )
        .where(ReversalLine.line_id.in_(list(line_ids)), ReversalLine.applied_at.is_(None))
        .order_by(Reversal.created_at, ReversalLine.source_id, ReversalLine.line_id)
        .with_for_update(of=ReversalLine)
        .execution_options(populate_existing=True)
    )
    return [(r[0], r[1]) for r in rows]


async def mark_reversal_line_applied(
    session: AsyncSession, line: ReversalLine, *, reversed_points: int, shortfall_points: int, now: datetime
) -> None:
    await session.execute(
        update(ReversalLine)
        .where(
            ReversalLine.source_id == line.source_id,
            ReversalLine.event_type == line.event_type,
            ReversalLine.line_id == line.line_id,
        )
        .values(reversed_points=reversed_points, shortfall_points=shortfall_points, applied_at=now)
    )


# ---- batch jobs ---------------------------------------------------------------------------


async def accounts_with_due_lots(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Lot.account_id)
        .where(Lot.status == "pending", Lot.available_at <= now)
        .group_by(Lot.account_id)
        .order_by(Lot.account_id)
        .limit(limit)
    )
    return list(rows.all())


async def release_lots(session: AsyncSession, account_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
    """Make the due pending lots of these (locked) accounts available; points per account."""
    rows = await session.execute(
        update(Lot)
        .where(Lot.account_id.in_(list(account_ids)), Lot.status == "pending", Lot.available_at <= now)
        .values(status="available")
        .returning(Lot.account_id, Lot.remaining)
    )
    released: dict[uuid.UUID, int] = {}
    for account_id, remaining in rows:
        released[account_id] = released.get(account_id, 0) + int(remaining)
    return released


async def move_pending_to_available(session: AsyncSession, released: dict[uuid.UUID, int], now: datetime) -> None:
    if not released:
        return
    delta = values(column("account_id", Uuid()), column("points", BIGINT), name="r").data(list(released.items()))
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == delta.c.account_id)
        .values(
            pending=LoyaltyAccount.pending - delta.c.points,
            available=LoyaltyAccount.available + delta.c.points,
            updated_at=now,
        )
    )


async def accounts_with_expired_lots(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Lot.account_id)
        .where(Lot.status == "available", Lot.remaining > 0, Lot.expires_at <= now)
        .group_by(Lot.account_id)
        .order_by(Lot.account_id)
        .limit(limit)
    )
    return list(rows.all())


async def expire_lots(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], now: datetime
) -> list[tuple[int, uuid.UUID, int]]:
    """Zero the expired lots of these (locked) accounts: (lot id, account id, points expired)."""
    old = (
        select(Lot.id, Lot.remaining)
        .where(
            Lot.account_id.in_(list(account_ids)), Lot.status == "available", Lot.remaining > 0, Lot.expires_at <= now
        )
        .subquery("old")
    )
    rows = await session.execute(
        update(Lot).where(Lot.id == old.c.id).values(remaining=0).returning(Lot.id, Lot.account_id, old.c.remaining)
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


async def take_expired(session: AsyncSession, expired: dict[uuid.UUID, int], now: datetime) -> None:
    if not expired:
        return
    delta = values(column("account_id", Uuid()), column("points", BIGINT), name="x").data(list(expired.items()))
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == delta.c.account_id)
        .values(available=LoyaltyAccount.available - delta.c.points, updated_at=now)
    )


# ---- events, audit ------------------------------------------------------------------------


async def event_by_id(session: AsyncSession, event_id: uuid.UUID) -> OutboxEvent | None:
    return (await session.scalars(select(OutboxEvent).where(OutboxEvent.event_id == event_id))).first()


async def balance_mismatches(session: AsyncSession) -> list[tuple[str, int, int, int, int, int]]:
    """Cards whose balances disagree with their ledger or lots:
    (card, available, pending, ledger sum, available lots, pending lots)."""
    ledger = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.points).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    lots = (
        select(
            Lot.account_id,
            func.sum(Lot.remaining).filter(Lot.status == "available").label("avail"),
            func.sum(Lot.remaining).filter(Lot.status == "pending").label("pend"),
        )
        .group_by(Lot.account_id)
        .subquery()
    )
    ledger_total = func.coalesce(ledger.c.total, 0)
    lots_available = func.coalesce(lots.c.avail, 0)
    lots_pending = func.coalesce(lots.c.pend, 0)
    rows = await session.execute(
        select(
            LoyaltyAccount.card_number,
            LoyaltyAccount.available,
            LoyaltyAccount.pending,
            ledger_total,
            lots_available,
            lots_pending,
        )
        .outerjoin(ledger, ledger.c.account_id == LoyaltyAccount.id)
        .outerjoin(lots, lots.c.account_id == LoyaltyAccount.id)
        .where(
            (LoyaltyAccount.available + LoyaltyAccount.pending != ledger_total)
            | (LoyaltyAccount.available != lots_available)
            | (LoyaltyAccount.pending != lots_pending)
        )
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


async def pending_lots(
    session: AsyncSession, account_id: uuid.UUID, limit: int
) -> list[tuple[int, datetime, str | None]]:
    """(points left, release time, order) of the account's pending lots, soonest first."""
    rows = await session.execute(
        select(Lot.remaining, Lot.available_at, Lot.order_id)
        .where(Lot.account_id == account_id, Lot.status == "pending", Lot.remaining > 0)
        .order_by(Lot.available_at, Lot.id)
        .limit(limit)
    )
    return [(int(r[0]), r[1], r[2]) for r in rows]
