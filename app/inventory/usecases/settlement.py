"""Settling reservations: release, consume (a sale), expiry of holds, open units."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.inventory import repository, rules
from app.inventory.errors import ExceedsOpenQuantity, OnHandWouldGoNegative, ReservationNotFound
from app.inventory.repository import Change
from app.inventory.rules import Line, OpenLine, Reason
from app.inventory.schemas import ReservationOut
from app.inventory.usecases.common import (
    as_lines,
    no_duplicates,
    require_every_location,
    require_holder,
    reservation_out,
)


def _open_lines(rows: Sequence[Any]) -> list[OpenLine]:
    return [OpenLine(r.sku, r.location_code, r.quantity, r.released_qty, r.consumed_qty) for r in rows]


async def _settle(
    session: AsyncSession,
    *,
    reference: str | None,
    reservation_id: uuid.UUID | None,
    lines: Sequence[Any] | None,
    consume: bool,
    actor: uuid.UUID | None,
    ledger_reference: str | None,
    principal: Principal | None,
) -> ReservationOut:
    # Lock the reservation first, then read its lines in a new statement (a fresh snapshot):
    # a concurrent release/consume/expiry of the same reservation has committed by then.
    res = await repository.lock_reservation(session, reference=reference, reservation_id=reservation_id)
    if res is None:
        raise ReservationNotFound("no such reservation")
    require_holder(principal, res)
    held = await repository.reservation_lines(session, [res.id])
    require_every_location(principal, held)
    open_lines = _open_lines(held)
    requested = None
    if lines is not None:
        requested = as_lines(lines)
        no_duplicates([(line.sku, line.location) for line in requested], "a SKU at a location")
    plan = rules.settle_plan(open_lines, requested)
    if isinstance(plan, str):
        raise ExceedsOpenQuantity(plan)
    if not plan:
        return reservation_out(res, await repository.reservation_lines(session, [res.id]))
    now = clock.now()
    if consume:
        changes = [
            Change(
                line.sku,
                line.location,
                on_hand=-line.quantity,
                reserved=-line.quantity,
                reason=Reason.SALE.value,
                reference=ledger_reference or res.reference,
            )
            for line in plan
        ]
    else:
        changes = [Change(line.sku, line.location, reserved=-line.quantity) for line in plan]
    rows = await repository.apply_changes(session, changes, actor=actor, now=now)
    if len(rows) != len(changes):
        raise OnHandWouldGoNegative(
            "on_hand is below the quantity to consume (a count found less than was reserved); "
            "count or adjust the stock first",
            lines=[{"sku": c.sku, "location": c.location} for c in changes],
        )
    await repository.settle_lines(
        session,
        res.id,
        [(line.sku, line.location, line.quantity) for line in plan],
        column="consumed_qty" if consume else "released_qty",
    )
    after = await repository.reservation_lines(session, [res.id])
    status = rules.reservation_status(_open_lines(after))
    await repository.set_reservation_status(
        session,
        {res.id: status},
        event="reservation.consumed" if consume else "reservation.released",
        now=now,
        payloads={
            res.id: {
                "reservation_id": str(res.id),
                "reference": res.reference,
                "status": status,
                "lines": [{"sku": s, "location": loc, "quantity": q} for s, loc, q in plan],
            }
        },
    )
    res.status = status
    return reservation_out(res, after)


async def release(
    session: AsyncSession,
    *,
    reference: str | None = None,
    lines: Sequence[Line | tuple[str, str, int]] | None = None,
    actor: uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
    principal: Principal | None = None,
) -> ReservationOut:
    return await _settle(
        session,
        reference=reference,
        reservation_id=reservation_id,
        lines=lines,
        consume=False,
        actor=actor,
        ledger_reference=None,
        principal=principal,
    )


async def consume(
    session: AsyncSession,
    *,
    reference: str | None = None,
    lines: Sequence[Line | tuple[str, str, int]] | None = None,
    actor: uuid.UUID | None = None,
    ledger_reference: str | None = None,
    reservation_id: uuid.UUID | None = None,
    principal: Principal | None = None,
) -> ReservationOut:
    return await _settle(
        session,
        reference=reference,
        reservation_id=reservation_id,
        lines=lines,
        consume=True,
        actor=actor,
        ledger_reference=ledger_reference,
        principal=principal,
    )


async def open_reservation_units(session: AsyncSession, references: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """(reference, sku, location) -> units the reservation still holds there (absent: none)."""
    rows = await repository.open_lines_by_reference(session, sorted(set(references)))
    return {(r.reference, r.sku, r.location_code): int(r.open) for r in rows if r.open > 0}


async def expire_reservations(session: AsyncSession, *, limit: int = 500) -> int:
    """Release what expired holds still keep. Rows are claimed with SKIP LOCKED and their
    status changes in the same transaction, so two runs never release one hold twice."""
    now = clock.now()
    ids = await repository.expired_reservations(session, now, limit)
    if not ids:
        return 0
    rows = await repository.reservation_lines(session, ids)
    totals: dict[tuple[str, str], int] = {}
    by_res: dict[uuid.UUID, list[OpenLine]] = {}
    for r in rows:
        line = OpenLine(r.sku, r.location_code, r.quantity, r.released_qty, r.consumed_qty)
        by_res.setdefault(r.reservation_id, []).append(line)
        if line.open > 0:
            totals[(line.sku, line.location)] = totals.get((line.sku, line.location), 0) + line.open
    changes = [Change(sku, loc, reserved=-qty) for (sku, loc), qty in totals.items()]
    applied = await repository.apply_changes(session, changes, actor=None, now=now)
    if len(applied) != len(changes):
        raise RuntimeError("reserved fell below open reservations; run `oms check`")
    await repository.settle_many_fully_released(session, ids)
    statuses: dict[uuid.UUID, str] = {}
    payloads: dict[uuid.UUID, dict[str, Any]] = {}
    for rid in ids:
        lines = by_res.get(rid, [])
        closed = [OpenLine(o.sku, o.location, o.quantity, o.quantity - o.consumed, o.consumed) for o in lines]
        statuses[rid] = rules.reservation_status(closed)
        payloads[rid] = {
            "reservation_id": str(rid),
            "status": statuses[rid],
            "expired": True,
            "lines": [{"sku": o.sku, "location": o.location, "quantity": o.open} for o in lines if o.open > 0],
        }
    await repository.set_reservation_status(session, statuses, event="reservation.released", now=now, payloads=payloads)
    return len(ids)
