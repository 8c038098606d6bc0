"""Stock levels: adjustments, safety stock, the ledger and on_hand as of a past time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.errors import InvalidInput
from app.core.pagination import Keyset, Page
from app.inventory import repository, rules
from app.inventory.errors import InvalidReason, OnHandWouldGoNegative
from app.inventory.repository import Change
from app.inventory.rules import Reason
from app.inventory.schemas import LedgerEntryOut, OnHandAtOut, StockLevelOut
from app.inventory.usecases.common import level_out, levels, require_known

STOCK_BY_SKU = Keyset("stock_by_sku", str, str)


STOCK_BY_LOCATION = Keyset("stock_by_location", str, str)


STOCK_LEDGER = Keyset("stock_ledger", int)


async def adjust(
    session: AsyncSession,
    *,
    sku: str,
    location_code: str,
    delta: int,
    reason: str,
    reference: str | None = None,
    actor: uuid.UUID | None = None,
) -> StockLevelOut:
    try:
        why = Reason(reason)
    except ValueError:
        raise InvalidReason(f"unknown reason {reason!r}") from None
    problem = rules.adjustment_problem(why, delta)
    if problem:
        raise InvalidReason(problem)
    await require_known(session, [sku], [location_code])
    change = Change(sku, location_code, on_hand=delta, reason=why.value, reference=reference)
    rows = await repository.apply_changes(session, [change], actor=actor, now=clock.now())
    if not rows:
        raise OnHandWouldGoNegative(
            f"removing {-delta} of {sku} at {location_code} would take on_hand below zero",
            sku=sku,
            location=location_code,
        )
    return (await levels(session, [(sku, location_code)]))[0]


async def set_safety_stock(
    session: AsyncSession, *, sku: str, location_code: str, safety_stock: int | None
) -> StockLevelOut:
    await require_known(session, [sku], [location_code])
    await repository.set_safety_stock(session, sku, location_code, safety_stock, clock.now())
    return (await levels(session, [(sku, location_code)]))[0]


async def stock_levels(
    session: AsyncSession,
    *,
    sku: str | None = None,
    location_code: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> Page[StockLevelOut]:
    by_location = location_code is not None and sku is None
    keyset = STOCK_BY_LOCATION if by_location else STOCK_BY_SKU
    after = keyset.after(cursor)
    rows = await repository.stock_levels(
        session,
        sku=sku,
        location_code=location_code,
        after=(after[0], after[1]) if after else None,
        limit=limit + 1,
    )
    return keyset.page(
        [level_out(r) for r in rows],
        limit,
        (lambda o: [o.location, o.sku]) if by_location else (lambda o: [o.sku, o.location]),
    )


def _entry_out(m: Any) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=m.id,
        sku=m.sku,
        location=m.location_code,
        delta=m.delta,
        on_hand_after=m.on_hand_after,
        reason=m.reason,
        reference=m.reference,
        actor_key_id=m.actor_key_id,
        effective_at=m.effective_at,
        recorded_at=m.recorded_at,
    )


async def ledger(
    session: AsyncSession,
    *,
    sku: str | None = None,
    location_code: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> Page[LedgerEntryOut]:
    """Newest first."""
    if sku is None and location_code is None:
        raise InvalidInput("name a sku, a location or both", code="ledger_filter_required")
    after = STOCK_LEDGER.after(cursor, scope=(sku, location_code))
    rows = await repository.ledger_page(
        session, sku=sku, location_code=location_code, before_id=after[0] if after else None, limit=limit + 1
    )
    return STOCK_LEDGER.page([_entry_out(m) for m in rows], limit, lambda e: [e.id], scope=(sku, location_code))


async def on_hand_at(session: AsyncSession, *, sku: str, location_code: str, at: datetime) -> OnHandAtOut:
    at = clock.ensure_utc(at)
    value = await repository.on_hand_at(session, sku, location_code, at)
    if value is None:
        await require_known(session, [sku], [location_code])
        value = 0
    return OnHandAtOut(sku=sku, location=location_code, at=at, on_hand=value)
