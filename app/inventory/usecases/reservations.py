"""Making reservations (all lines or none), single-line holds through the per-SKU
combiner, and reading a reservation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.auth import Principal
from app.core.db import transaction
from app.core.errors import InvalidInput
from app.inventory import holds, repository, rules
from app.inventory.errors import InsufficientStock, ReferenceInUse, ReservationNotFound, ReservedReference
from app.inventory.rules import Line
from app.inventory.schemas import ReservationLineOut, ReservationOut
from app.inventory.usecases.common import (
    as_lines,
    no_duplicates,
    require_every_location,
    require_holder,
    require_known,
    reservation_out,
)


async def _existing(session: AsyncSession, reference: str, lines: Sequence[Line], holder: str | None) -> ReservationOut:
    """The reservation already held by `reference`: returned when the same holder holds the
    same lines. Never says which reservation it is otherwise (it may be another caller's)."""
    res = await repository.reservation_by(session, reference=reference)
    if res is None:
        raise ReferenceInUse(f"reference {reference!r} is being used by a concurrent request; retry")
    rows = await repository.reservation_lines(session, [res.id])
    held = sorted((r.sku, r.location_code, r.quantity) for r in rows)
    if res.holder != holder or held != sorted(tuple(line) for line in lines):
        raise ReferenceInUse(f"reference {reference!r} already holds other lines")
    return reservation_out(res, rows)


async def _insufficient(session: AsyncSession, lines: Sequence[Line]) -> InsufficientStock:
    """Why the reservation failed: bad input (422) before shortage (409)."""
    await require_known(session, [line.sku for line in lines], [line.location for line in lines])
    avail = await repository.availability_of_lines(session, [(line.sku, line.location) for line in lines])
    short = [
        {
            "sku": line.sku,
            "location": line.location,
            "requested": line.quantity,
            "available": avail[(line.sku, line.location)],
        }
        for line in lines
        if avail[(line.sku, line.location)] < line.quantity
    ]
    if not short:  # stock came back between our UPDATE and this read; report the lines anyway
        short = [
            {
                "sku": line.sku,
                "location": line.location,
                "requested": line.quantity,
                "available": avail[(line.sku, line.location)],
            }
            for line in lines
        ]
    what = ", ".join(f"{s['sku']}@{s['location']} {s['available']}/{s['requested']}" for s in short[:10])
    return InsufficientStock(f"not enough stock: {what}", lines=short)


def _check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    expires_at = clock.ensure_utc(expires_at)
    if expires_at <= now:
        raise InvalidInput("expires_at must be in the future", code="invalid_expiry")
    return expires_at


async def reserve(
    session: AsyncSession,
    *,
    reference: str,
    lines: Sequence[Line | tuple[str, str, int]],
    expires_at: datetime | None = None,
    actor: uuid.UUID | None = None,
    holder: str | None = None,
    beyond_safety_stock: bool = False,
) -> ReservationOut:
    """`holder` (holder_for(principal)): made through /v1/reservations, so only that channel
    (and store) may settle it there; None: an order's or fulfillment's own reservation.
    `beyond_safety_stock`: units that arrived for a named order (a ship-to-store parcel) are
    that order's whatever the safety stock: only `on_hand - reserved` guards them."""
    _check_reference(reference, holder)
    wanted = rules.lock_order(as_lines(lines))
    if not wanted:
        raise InvalidInput("a reservation needs at least one line", code="no_lines")
    no_duplicates([(line.sku, line.location) for line in wanted], "a SKU at a location")
    now = clock.now()
    expires_at = _check_expiry(expires_at, now)
    reservation_id = uuid.uuid4()
    if len(wanted) == 1:
        return await _reserve_one(
            session, reservation_id, reference, wanted[0], expires_at, actor, now, holder, beyond_safety_stock
        )
    # One statement: every line's conditional UPDATE (rows locked in `wanted`'s order), the
    # reservation, its lines and its event — or nothing at all.
    reserved, created = await repository.reserve_many(
        session,
        reservation_id=reservation_id,
        reference=reference,
        lines=wanted,
        expires_at=expires_at,
        actor=actor,
        now=now,
        holder=holder,
        beyond_safety_stock=beyond_safety_stock,
    )
    if reserved and not created:  # a concurrent request took the reference first
        await _give_back(session, wanted)
        return await _existing(session, reference, wanted, holder)
    if not reserved:
        if await repository.reservation_by(session, reference=reference) is not None:
            return await _existing(session, reference, wanted, holder)
        raise await _insufficient(session, wanted)
    return _fresh_out(reservation_id, reference, wanted, expires_at, now)


async def _give_back(session: AsyncSession, lines: Sequence[Line]) -> None:
    for line in lines:
        await repository.unreserve_row(session, line.sku, line.location, line.quantity)


def _fresh_out(
    reservation_id: uuid.UUID, reference: str, lines: Sequence[Line], expires_at: datetime | None, now: datetime
) -> ReservationOut:
    return ReservationOut(
        id=reservation_id,
        reference=reference,
        status="open",
        expires_at=expires_at,
        created_at=now,
        lines=[
            ReservationLineOut(sku=s, location=loc, quantity=q, released=0, consumed=0, open=q) for s, loc, q in lines
        ],
    )


async def _reserve_one(
    session: AsyncSession,
    reservation_id: uuid.UUID,
    reference: str,
    line: Line,
    expires_at: datetime | None,
    actor: uuid.UUID | None,
    now: datetime,
    holder: str | None,
    beyond_safety_stock: bool = False,
) -> ReservationOut:
    reserved, created = await repository.reserve_one(
        session,
        reservation_id=reservation_id,
        reference=reference,
        sku=line.sku,
        location_code=line.location,
        quantity=line.quantity,
        expires_at=expires_at,
        actor=actor,
        now=now,
        holder=holder,
        beyond_safety_stock=beyond_safety_stock,
    )
    if reserved and created:
        return _fresh_out(reservation_id, reference, [line], expires_at, now)
    if reserved:  # a concurrent request took the reference between our check and insert
        await _give_back(session, [line])
        return await _existing(session, reference, [line], holder)
    if await repository.reservation_by(session, reference=reference) is not None:
        return await _existing(session, reference, [line], holder)
    raise await _insufficient(session, [line])


async def hold(
    maker: async_sessionmaker[AsyncSession],
    *,
    reference: str,
    line: Line | tuple[str, str, int],
    expires_at: datetime | None = None,
    actor: uuid.UUID | None = None,
    holder: str | None = None,
) -> ReservationOut:
    _check_reference(reference, holder)
    wanted = as_lines([line])[0]
    expires_at = _check_expiry(expires_at, clock.now())

    async def regular(
        reference: str, line: Line, expires_at: datetime | None, actor: uuid.UUID | None, holder: str | None
    ) -> ReservationOut:
        async with transaction(maker) as session:
            return await reserve(
                session, reference=reference, lines=[line], expires_at=expires_at, actor=actor, holder=holder
            )

    return await holds.combiner(maker, regular).hold(
        reference=reference, line=wanted, expires_at=expires_at, actor=actor, holder=holder
    )


def _check_reference(reference: str, holder: str | None) -> None:
    if holder is not None and rules.is_flow_reference(reference):
        raise ReservedReference(
            f"references starting with {', '.join(rules.FLOW_REFERENCE_PREFIXES)} belong to orders and fulfillment"
        )


async def get_reservation(
    session: AsyncSession,
    *,
    reservation_id: uuid.UUID | None = None,
    reference: str | None = None,
    principal: Principal | None = None,
) -> ReservationOut:
    """`principal`: a location-bound key sees only reservations wholly at its location (403)."""
    res = await repository.reservation_by(session, reservation_id=reservation_id, reference=reference)
    if res is None:
        raise ReservationNotFound("no such reservation")
    require_holder(principal, res, reading=True)
    rows = await repository.reservation_lines(session, [res.id])
    require_every_location(principal, rows)
    return reservation_out(res, rows)
