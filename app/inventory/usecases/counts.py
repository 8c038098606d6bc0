"""Counts: cycle counts and POS count batches (applied once per batch id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from msgspec import structs
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.errors import InvalidInput
from app.core.settings import get_settings
from app.inventory import repository, rules
from app.inventory.errors import BatchTooLarge
from app.inventory.repository import Change
from app.inventory.rules import Reason
from app.inventory.schemas import RejectedLine, StockLevelOut, SyncOut
from app.inventory.usecases.common import levels, no_duplicates, require_known

# A POS clock a little ahead of ours is tolerated; a count from further in the future is not.
COUNT_CLOCK_SKEW = timedelta(minutes=5)


async def _apply_counts(
    session: AsyncSession,
    *,
    location_code: str,
    lines: Sequence[tuple[str, int, datetime]],
    reason: Reason,
    reference: str | None,
    actor: uuid.UUID | None,
) -> tuple[list[Row[Any]], int, list[RejectedLine]]:
    now = clock.now()
    basis = await repository.count_basis(session, location_code, [(sku, at) for sku, _, at in lines])
    changes: list[Change] = []
    rejected: list[RejectedLine] = []
    unchanged = 0
    horizon = now - timedelta(days=get_settings().stock_count_horizon_days)
    for sku, counted, counted_at in lines:
        if counted_at > now + COUNT_CLOCK_SKEW:
            rejected.append(
                RejectedLine(sku=sku, reason="counted_in_future", detail=f"counted_at {counted_at} is ahead of now")
            )
            continue
        if counted_at < horizon:
            # Applied as of its time, a count older than the ledger it is compared with would
            # count every later movement twice: refused rather than rewriting history.
            rejected.append(
                RejectedLine(
                    sku=sku,
                    reason="counted_too_long_ago",
                    detail=f"counted_at {counted_at.isoformat()} is older than the horizon ({horizon.isoformat()})",
                )
            )
            continue
        on_hand_now, moved = basis.get(sku, (0, 0))
        decision = rules.decide_count(counted, counted_at, on_hand_now, moved)
        if decision.rejected:
            rejected.append(
                RejectedLine(
                    sku=sku,
                    reason=decision.rejected,
                    detail=f"count {counted} at {counted_at.isoformat()} minus the {moved:+d} moved since "
                    f"would leave on_hand below zero (now {on_hand_now})",
                )
            )
        elif decision.delta == 0:
            unchanged += 1
        else:
            effective = min(counted_at, now)
            changes.append(
                Change(
                    sku,
                    location_code,
                    on_hand=decision.delta,
                    reason=reason.value,
                    reference=reference,
                    effective_at=effective,
                )
            )
    rows = await repository.apply_changes(session, changes, actor=actor, now=now)
    if len(rows) != len(changes):  # the rows were locked: only a bug gets here
        raise RuntimeError("count changes were not all applied")
    return rows, unchanged, rejected


async def count(
    session: AsyncSession,
    *,
    location_code: str,
    lines: Sequence[tuple[str, int]],
    counted_at: datetime | None = None,
    reference: str | None = None,
    actor: uuid.UUID | None = None,
) -> list[StockLevelOut]:
    """A cycle count of `(sku, on_hand)` lines at one location."""
    no_duplicates([(sku,) for sku, _ in lines], "a SKU")
    await require_known(session, [sku for sku, _ in lines], [location_code])
    at = clock.ensure_utc(counted_at) if counted_at else clock.now()
    _, _, rejected = await _apply_counts(
        session,
        location_code=location_code,
        lines=[(sku, n, at) for sku, n in lines],
        reason=Reason.CYCLE_COUNT,
        reference=reference,
        actor=actor,
    )
    if rejected:
        raise InvalidInput(
            "; ".join(f"{r.sku}: {r.detail}" for r in rejected),
            code=rejected[0].reason,
            lines=[{"sku": r.sku, "reason": r.reason} for r in rejected],
        )
    return await levels(session, [(sku, location_code) for sku, _ in lines])


async def sync_counts(
    session: AsyncSession,
    *,
    location_code: str,
    batch_id: str,
    lines: Sequence[tuple[str, int, datetime]],
    actor: uuid.UUID | None = None,
) -> SyncOut:
    """Apply a POS batch once. Structural errors (too many lines, a SKU twice, unknown SKUs or
    location) refuse the whole batch; a line whose count contradicts later movements is
    rejected on its own with its reason, the others apply."""
    if len(lines) > rules.MAX_SYNC_LINES:
        raise BatchTooLarge(
            f"{len(lines)} lines; a batch takes at most {rules.MAX_SYNC_LINES}", limit=rules.MAX_SYNC_LINES
        )
    no_duplicates([(sku,) for sku, _, _ in lines], "a SKU")
    await require_known(session, [sku for sku, _, _ in lines], [location_code])
    now = clock.now()
    if not await repository.claim_sync_batch(session, location_code, batch_id, actor, now):
        previous = await repository.sync_batch(session, location_code, batch_id)
        outcome = previous.outcome if previous else {}
        return SyncOut(
            batch_id=batch_id,
            location=location_code,
            lines=int(outcome.get("lines", 0)),
            applied=int(outcome.get("applied", 0)),
            unchanged=int(outcome.get("unchanged", 0)),
            rejected=[RejectedLine(**r) for r in outcome.get("rejected", [])],
            replayed=True,
        )
    rows, unchanged, rejected = await _apply_counts(
        session,
        location_code=location_code,
        lines=[(sku, n, clock.ensure_utc(at)) for sku, n, at in lines],
        reason=Reason.POS_SYNC,
        reference=f"batch:{batch_id}",
        actor=actor,
    )
    result = SyncOut(
        batch_id=batch_id,
        location=location_code,
        lines=len(lines),
        applied=len(rows),
        unchanged=unchanged,
        rejected=rejected,
    )
    await repository.save_sync_outcome(
        session,
        location_code,
        batch_id,
        {
            "lines": result.lines,
            "applied": result.applied,
            "unchanged": result.unchanged,
            "rejected": [structs.asdict(r) for r in rejected],
        },
    )
    return result
