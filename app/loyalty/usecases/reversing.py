"""Returns take back the points their lines earned (see "Spent points on return" in
`app/loyalty/service.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.loyalty import repository, rules
from app.loyalty.errors import InvalidReversal, ReversalConflict
from app.loyalty.models import EarningLine, ReversalLine
from app.loyalty.schemas import ReversalResult
from app.loyalty.usecases.accounts import _retier
from app.loyalty.usecases.common import _check_lines, _reference, points_value


@dataclass
class _Take:
    """One return line against one earning line."""

    line: EarningLine
    refunded: int
    points: int = 0
    own: int = 0
    drawn: int = 0
    waived: int = 0

    @property
    def missing(self) -> int:
        return self.points - self.own - self.waived

    @property
    def shortfall(self) -> int:
        return self.missing - self.drawn


@dataclass
class _Taken:
    available: int = 0
    pending: int = 0
    shortfall: int = 0
    reversed: int = 0
    per_return: dict[tuple[str, str], int] = field(default_factory=dict)


async def _apply_reversal_lines(
    session: AsyncSession,
    account_id: uuid.UUID,
    items: Sequence[tuple[ReversalLine, str | None]],
    now: datetime,
) -> _Taken:
    """Take back the points of return lines whose sale was earned on this (locked) account.
    Writes lots, earning lines, reversal lines and the `reverse` ledger rows; the caller
    applies the returned balance changes to the account in its one UPDATE."""
    taken = _Taken()
    if not items:
        return taken
    earned = {
        line.line_id: line
        for line, account in await repository.earning_lines_for(session, [item.line_id for item, _ in items])
        if account == account_id
    }
    lots = await repository.lots_by_id(session, list({line.lot_id for line in earned.values()}))
    remaining = {lot_id: lot.remaining for lot_id, lot in lots.items()}
    refunded = {line_id: line.refunded_minor for line_id, line in earned.items()}
    takes: list[tuple[ReversalLine, str | None, _Take]] = []
    own: dict[int, int] = {}
    spend_cuts: dict[int, int] = {}
    for item, channel in items:
        line = earned.get(item.line_id)
        if line is None:
            continue
        take = _Take(line=line, refunded=item.refunded_minor)
        before = refunded[line.line_id]
        take.points = rules.points_to_reverse(line.points, line.net_paid_minor, before, item.refunded_minor)
        cut = rules.points_to_reverse(line.earnable_minor, line.net_paid_minor, before, item.refunded_minor)
        refunded[line.line_id] = before + item.refunded_minor
        lot = lots[line.lot_id]
        take.own = min(take.points, remaining[lot.id])
        remaining[lot.id] -= take.own
        own[lot.id] = own.get(lot.id, 0) + take.own
        spend_cuts[lot.id] = spend_cuts.get(lot.id, 0) + cut
        if lot.status == "pending":
            taken.pending += take.own
        else:
            taken.available += take.own
        if take.points > take.own and lot.expires_at <= now:
            take.waived = take.points - take.own
        takes.append((item, channel, take))
    await repository.take_from_lots(session, [(k, v) for k, v in own.items() if v], shrink=True)
    await repository.cut_lot_spend(session, [(k, v) for k, v in spend_cuts.items() if v])
    missing = sum(take.missing for _, _, take in takes)
    if missing:
        draws = rules.draw_fifo(await repository.spendable_lots(session, account_id), missing)
        await repository.take_from_lots(session, draws)
        left = sum(points for _, points in draws)
        taken.available += left
        for _, _, take in takes:
            take.drawn = min(take.missing, left)
            left -= take.drawn
    ledger: dict[tuple[str, str], tuple[int, int, str | None]] = {}
    for item, channel, take in takes:
        await repository.record_line_refund(session, take.line.lot_id, take.line.line_id, take.refunded, take.points)
        reversed_points = take.own + take.drawn
        await repository.mark_reversal_line_applied(
            session, item, reversed_points=reversed_points, shortfall_points=take.shortfall, now=now
        )
        key = (item.source_id, item.event_type)
        points, shortfall, _ = ledger.get(key, (0, 0, channel))
        ledger[key] = (points + reversed_points, shortfall + take.shortfall, channel)
        taken.shortfall += take.shortfall
        taken.reversed += reversed_points
    await repository.insert_entries(
        session,
        [
            {
                "account_id": account_id,
                "kind": "reverse",
                "points": -points,
                "reference": source_id,
                "channel": channel,
                "note": f"{event_type}; {shortfall} spent points deducted from the refund" if shortfall else event_type,
                "occurred_at": now,
            }
            for (source_id, event_type), (points, shortfall, channel) in ledger.items()
            if points
        ],
    )
    return taken


async def reverse(
    session: AsyncSession,
    *,
    source_id: str,
    event_type: str,
    lines: Sequence[tuple[str, int]],
    channel: str | None = None,
) -> ReversalResult:
    source_id, event_type = _reference(source_id, "source_id"), _reference(event_type, "event_type")
    _check_lines(lines, InvalidReversal)
    if any(amount <= 0 for _, amount in lines):
        raise InvalidReversal("refunded amounts must be positive")
    payload_hash = rules.fingerprint([sorted(lines), channel])
    line_ids = [line_id for line_id, _ in lines]
    await repository.lock_lines(session, line_ids)
    now = clock.now()
    if not await repository.insert_reversal(
        session, source_id=source_id, event_type=event_type, payload_hash=payload_hash, channel=channel, created_at=now
    ):
        existing = await repository.reversal(session, source_id, event_type)
        if existing is None or existing.payload_hash != payload_hash:
            raise ReversalConflict(f"{event_type} {source_id} already reversed points with other data")
        return _reversal_result(await repository.reversal_lines(session, source_id, event_type), replayed=True)
    await repository.insert_reversal_lines(
        session,
        [
            {"source_id": source_id, "event_type": event_type, "line_id": line_id, "refunded_minor": amount}
            for line_id, amount in lines
        ],
    )
    accounts = sorted({account for _, account in await repository.earning_lines_for(session, line_ids)})
    await repository.lock_accounts(session, accounts)
    pending_lines = await repository.reversal_lines(session, source_id, event_type)
    for account_id in accounts:
        taken = await _apply_reversal_lines(session, account_id, [(line, channel) for line in pending_lines], now)
        tier_name, spend = await _retier(session, account_id, now)
        await repository.change_balances(
            session,
            account_id,
            available=-taken.available,
            pending=-taken.pending,
            tier=tier_name,
            spend_minor=spend,
            now=now,
        )
    return _reversal_result(await repository.reversal_lines(session, source_id, event_type))


async def reversal_so_far(session: AsyncSession, *, source_id: str, event_type: str) -> ReversalResult | None:
    """What the reversal has taken back by now: a line that waited for its sale's earning
    counts once the earning has arrived and applied it. None: no such reversal."""
    lines = await repository.reversal_lines(session, source_id, event_type)
    return _reversal_result(lines, replayed=True) if lines else None


def _reversal_result(lines: Sequence[ReversalLine], *, replayed: bool = False) -> ReversalResult:
    shortfall = sum(line.shortfall_points for line in lines)
    return ReversalResult(
        points_reversed=sum(line.reversed_points for line in lines),
        shortfall_points=shortfall,
        shortfall_value=points_value(shortfall),
        waiting_lines=[line.line_id for line in lines if line.applied_at is None],
        replayed=replayed,
    )
