"""Inventory use cases. Services never commit: the caller's transaction owns the work.

Public functions (other domains call only these; `Line` = `(sku, location, quantity)`):

Locations
- `get_location(session, code) -> LocationOut` (LocationNotFound)
- `list_locations(session, kind=None, ships=None, pickup=None) -> list[LocationOut]`
- `create_location(session, body: LocationCreate) -> LocationOut`
- `update_location(session, code, body: LocationUpdate) -> LocationOut`
- `delete_location(session, code) -> None` (refused once it has stock, ledger or transfers)

Reservations
- `reserve(session, *, reference, lines: Sequence[Line], expires_at=None, actor=None, holder=None,
  beyond_safety_stock=False) -> ReservationOut`
  All lines or none. Raises InsufficientStock (409 `insufficient_stock`, extra
  `lines=[{sku, location, requested, available}]` for each line that could not be reserved),
  UnknownSku / UnknownLocation (422), DuplicateLine (422), ReferenceInUse (409: the
  reference holds other lines). The same reference with the same lines returns the existing
  reservation (retries are harmless). On failure nothing stays reserved, so the caller may
  try another plan in the same transaction.
- `release(session, *, reference, lines: Sequence[Line] | None = None, actor=None) -> ReservationOut`
  None releases everything still open; releasing a closed reservation changes nothing.
- `consume(session, *, reference, lines=None, actor=None, ledger_reference=None) -> ReservationOut`
  At shipment or pickup: on_hand and reserved both go down, one `sale` ledger row per line
  (reference `ledger_reference` or the reservation's).
- `holder_for(principal) -> str`; `holder` of reserve/hold: the reservation is made through
  /v1/reservations by that channel (and store). Such a reservation may not take a flow's
  reference (`order:`, `resource:`, `fulfillment:`, `exchange:`: 422 `reference_reserved`),
  and through the API only its holder (or an admin) may release it, only its holder consume
  it (403 `not_reservation_holder`); an order's or fulfilment's reservation (no holder) is
  never settled through the API (409 `reservation_held_by_order`): `release`/`consume` with
  a `principal` check it, the flows call them without one.
- `open_reservation_units(session, references) -> {(reference, sku, location): open units}`
- `hold(maker, *, reference, line: Line, expires_at=None, actor=None, holder=None) -> ReservationOut`: a
  single-line reservation through this process's per-SKU combiner (holds.py), in its own
  transaction, committed when it returns. The HTTP hold path: the same outcomes as `reserve`,
  for flash-sale traffic on one SKU.
- `get_reservation(session, *, reservation_id=None, reference=None) -> ReservationOut`
- `expire_reservations(session, *, limit=500) -> int` (the `inventory.expire_reservations` job)

Stock
- `adjust(session, *, sku, location_code, delta, reason, reference=None, actor=None) -> StockLevelOut`
  reasons: receipt (+), return_restock (+), damage (-), correction (±). OnHandWouldGoNegative.
- `count(session, *, location_code, lines: Sequence[(sku, on_hand)], counted_at=None, reference=None, actor=None)
  -> list[StockLevelOut]` (cycle count; the ledger records the difference)
- `sync_counts(session, *, location_code, batch_id, lines: Sequence[(sku, on_hand, counted_at)], actor=None)
  -> SyncOut` (POS batches; see rules.decide_count for counts older than later movements)
- `stock_levels(session, *, sku=None, location_code=None, limit, cursor=None) -> Page[StockLevelOut]`
- `set_safety_stock(session, *, sku, location_code, safety_stock: int | None) -> StockLevelOut`
- `ledger(session, *, sku=None, location_code=None, limit, cursor=None) -> Page[LedgerEntryOut]`
- `on_hand_at(session, *, sku, location_code, at) -> OnHandAtOut`

Availability
- `availability(session, *, skus, channel=None, lat=None, lon=None, radius_km=None, pickup_only=False)
  -> AvailabilityOut` (storefronts/kiosks; two indexed queries per request whatever the SKU count)
- `available_by_location(session, skus, location_codes=None) -> dict[(sku, location), int]`
  (rows without stock are absent)
- `sourcing_locations(session, skus, *, serves=None, pickup_location=None) -> list[LocationStock]`
  (the sourcing planner, one statement: the locations that can serve an order, by code, each
  with what it has available of `skus`; see the function)

Transfers
- `create_transfer(session, *, from_location, to_location, lines: Sequence[(sku, qty)], note=None, actor=None)
  -> TransferOut`
- `dispatch_transfer(session, transfer_id, *, actor=None, principal=None) -> TransferOut` (transfer_out at
  the source; in_transit at the destination; reserved units never leave)
- `receive_transfer(session, transfer_id, *, actor=None, principal=None) -> TransferOut` (transfer_in)
- `cancel_transfer(session, transfer_id, *, principal=None) -> TransferOut` (drafts only)
- `get_transfer(session, transfer_id, *, principal=None) -> TransferOut`
  With `principal`, a key bound to a location acts only at the transfer's end the action
  happens at (dispatch: the source, receive: the destination, cancel and get: either end);
  another location's key gets the 403 of `principal.require_location`.
- `list_transfers(session, *, status, location_code, limit, cursor) -> Page[TransferOut]`

Integrity
- `check_integrity(session, *, limit=1000) -> list[Finding]`: on_hand = ledger sum, reserved =
  open reservations, in_transit = dispatched transfers, nothing negative, statuses right.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from msgspec import UNSET, structs
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog import service as catalog
from app.core import clock, outbox
from app.core.auth import Principal, Role
from app.core.db import transaction
from app.core.errors import InvalidInput
from app.core.pagination import Keyset, Page
from app.core.settings import get_settings
from app.inventory import holds, repository, rules
from app.inventory.errors import (
    BatchTooLarge,
    DuplicateLine,
    ExceedsOpenQuantity,
    InsufficientStock,
    InvalidLocation,
    InvalidReason,
    InvalidTransferTransition,
    LocationExists,
    LocationInUse,
    LocationNotFound,
    NotReservationHolder,
    OnHandWouldGoNegative,
    ReferenceInUse,
    ReservationHeldByOrder,
    ReservationNotFound,
    ReservedReference,
    TransferNotFound,
    UnknownLocation,
    UnknownSku,
)
from app.inventory.models import Location, Reservation, Transfer, TransferLine
from app.inventory.repository import Change
from app.inventory.rules import Line, OpenLine, Reason
from app.inventory.schemas import (
    AvailabilityOut,
    Finding,
    LedgerEntryOut,
    LocationAvailability,
    LocationCreate,
    LocationOut,
    LocationUpdate,
    OnHandAtOut,
    RejectedLine,
    ReservationLineOut,
    ReservationOut,
    SkuAvailability,
    StockLevelOut,
    SyncOut,
    TransferLineOut,
    TransferOut,
)

__all__ = ["Line"]

# A POS clock a little ahead of ours is tolerated; a count from further in the future is not.
COUNT_CLOCK_SKEW = timedelta(minutes=5)

LOCATIONS = Keyset("locations", str)
STOCK_BY_SKU = Keyset("stock_by_sku", str, str)
STOCK_BY_LOCATION = Keyset("stock_by_location", str, str)
STOCK_LEDGER = Keyset("stock_ledger", int)
TRANSFERS = Keyset("transfers", datetime, uuid.UUID)


# ---- locations ---------------------------------------------------------------------------------


def _location_out(loc: Location) -> LocationOut:
    return LocationOut(
        code=loc.code,
        name=loc.name,
        kind=loc.kind,
        address=loc.address,
        latitude=loc.latitude,
        longitude=loc.longitude,
        time_zone=loc.time_zone,
        ships=loc.ships,
        pickup=loc.pickup,
        accepts_returns=loc.accepts_returns,
        daily_capacity=loc.daily_capacity,
        default_safety_stock=loc.default_safety_stock,
        zone=loc.zone,
        active=loc.active,
    )


def _check_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidLocation(f"unknown time zone {name!r}", code="invalid_time_zone") from None


async def get_location(session: AsyncSession, code: str) -> LocationOut:
    loc = await repository.location(session, code)
    if loc is None:
        raise LocationNotFound(f"no location {code!r}")
    return _location_out(loc)


async def list_locations(
    session: AsyncSession, kind: str | None = None, ships: bool | None = None, pickup: bool | None = None
) -> list[LocationOut]:
    rows = await repository.list_locations(session, kind=kind, ships=ships, pickup=pickup, after=None, limit=None)
    return [_location_out(loc) for loc in rows]


async def list_locations_page(
    session: AsyncSession, *, kind: str | None, ships: bool | None, pickup: bool | None, limit: int, cursor: str | None
) -> Page[LocationOut]:
    after = LOCATIONS.after(cursor)
    rows = await repository.list_locations(
        session, kind=kind, ships=ships, pickup=pickup, after=after[0] if after else None, limit=limit + 1
    )
    return LOCATIONS.page([_location_out(loc) for loc in rows], limit, lambda o: [o.code])


async def create_location(session: AsyncSession, body: LocationCreate) -> LocationOut:
    _check_time_zone(body.time_zone)
    defaults = rules.default_capabilities(body.kind)
    ships = defaults.ships if body.ships is None else body.ships
    pickup = defaults.pickup if body.pickup is None else body.pickup
    problem = rules.capability_problem(body.kind, ships, pickup)
    if problem:
        raise InvalidLocation(problem)
    now = clock.now()
    loc = Location(
        code=body.code,
        name=body.name,
        kind=body.kind,
        address=body.address,
        latitude=body.latitude,
        longitude=body.longitude,
        time_zone=body.time_zone,
        ships=ships,
        pickup=pickup,
        accepts_returns=defaults.accepts_returns if body.accepts_returns is None else body.accepts_returns,
        daily_capacity=body.daily_capacity or defaults.daily_capacity,
        default_safety_stock=body.default_safety_stock,
        zone=body.zone,
        active=True,
        created_at=now,
        updated_at=now,
    )
    if not await repository.add_location(session, loc):
        raise LocationExists(f"location {body.code!r} exists")
    return _location_out(loc)


async def update_location(session: AsyncSession, code: str, body: LocationUpdate) -> LocationOut:
    loc = await repository.location(session, code, lock=True)
    if loc is None:
        raise LocationNotFound(f"no location {code!r}")
    if body.time_zone is not UNSET:
        _check_time_zone(body.time_zone)
    for field in structs.fields(body):
        value = getattr(body, field.name)
        if value is not UNSET:
            setattr(loc, field.name, value)
    problem = rules.capability_problem(loc.kind, loc.ships, loc.pickup)
    if problem:
        raise InvalidLocation(problem)
    loc.updated_at = clock.now()
    await session.flush()
    return _location_out(loc)


async def delete_location(session: AsyncSession, code: str) -> None:
    loc = await repository.location(session, code, lock=True)
    if loc is None:
        raise LocationNotFound(f"no location {code!r}")
    if await repository.location_in_use(session, code):
        raise LocationInUse("a location with stock history cannot be deleted; deactivate it (active=false)")
    await repository.delete_location(session, loc)


# ---- validation shared by the writers --------------------------------------------------------------


async def _require_known(session: AsyncSession, skus: Sequence[str], locations: Sequence[str]) -> None:
    """Unknown SKUs or locations are bad input (422), checked before anything is written."""
    locs = sorted(set(locations))
    known_locs = await repository.existing_location_codes(session, locs)
    missing_locs = [code for code in locs if code not in known_locs]
    if missing_locs:
        raise UnknownLocation(f"unknown location(s): {', '.join(missing_locs)}", locations=missing_locs)
    wanted = sorted(set(skus))
    facts = await catalog.variant_facts(session, wanted)
    missing = [sku for sku in wanted if sku not in facts]
    if missing:
        raise UnknownSku(f"unknown SKU(s): {', '.join(missing[:20])}", skus=missing[:100])


def _level_out(row: Row[Any]) -> StockLevelOut:
    return StockLevelOut(
        sku=row.sku,
        location=row.location_code,
        on_hand=row.on_hand,
        reserved=row.reserved,
        safety_stock=row.effective_safety_stock,
        safety_stock_override=row.safety_stock,
        available=row.available,
        in_transit=row.in_transit,
        updated_at=row.updated_at,
    )


async def _levels(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> list[StockLevelOut]:
    out: list[StockLevelOut] = []
    for sku, loc in keys:
        row = await repository.stock_level(session, sku, loc)
        if row is not None:
            out.append(_level_out(row))
    return out


# ---- stock ----------------------------------------------------------------------------------------


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
    await _require_known(session, [sku], [location_code])
    change = Change(sku, location_code, on_hand=delta, reason=why.value, reference=reference)
    rows = await repository.apply_changes(session, [change], actor=actor, now=clock.now())
    if not rows:
        raise OnHandWouldGoNegative(
            f"removing {-delta} of {sku} at {location_code} would take on_hand below zero",
            sku=sku,
            location=location_code,
        )
    return (await _levels(session, [(sku, location_code)]))[0]


async def set_safety_stock(
    session: AsyncSession, *, sku: str, location_code: str, safety_stock: int | None
) -> StockLevelOut:
    await _require_known(session, [sku], [location_code])
    await repository.set_safety_stock(session, sku, location_code, safety_stock, clock.now())
    return (await _levels(session, [(sku, location_code)]))[0]


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
        [_level_out(r) for r in rows],
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
        await _require_known(session, [sku], [location_code])
        value = 0
    return OnHandAtOut(sku=sku, location=location_code, at=at, on_hand=value)


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


def _no_duplicates(keys: Sequence[tuple[str, ...]], what: str) -> None:
    dups = rules.duplicate_keys(keys)
    if dups:
        raise DuplicateLine(f"{what} appears twice: {', '.join('/'.join(d) for d in dups[:20])}")


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
    _no_duplicates([(sku,) for sku, _ in lines], "a SKU")
    await _require_known(session, [sku for sku, _ in lines], [location_code])
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
    return await _levels(session, [(sku, location_code) for sku, _ in lines])


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
    _no_duplicates([(sku,) for sku, _, _ in lines], "a SKU")
    await _require_known(session, [sku for sku, _, _ in lines], [location_code])
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


# ---- reservations ---------------------------------------------------------------------------------


def _as_lines(lines: Sequence[Any]) -> list[Line]:
    out = [Line(str(s), str(loc), int(q)) for s, loc, q in lines]
    for line in out:
        if line.quantity <= 0:
            raise InvalidInput(f"{line.sku} at {line.location}: quantity must be positive", code="invalid_quantity")
    return out


def _reservation_out(res: Reservation, rows: Sequence[Any]) -> ReservationOut:
    return ReservationOut(
        id=res.id,
        reference=res.reference,
        status=res.status,
        expires_at=res.expires_at,
        created_at=res.created_at,
        lines=[
            ReservationLineOut(
                sku=r.sku,
                location=r.location_code,
                quantity=r.quantity,
                released=r.released_qty,
                consumed=r.consumed_qty,
                open=r.quantity - r.released_qty - r.consumed_qty,
            )
            for r in rows
        ],
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
    return _reservation_out(res, rows)


async def _insufficient(session: AsyncSession, lines: Sequence[Line]) -> InsufficientStock:
    """Why the reservation failed: bad input (422) before shortage (409)."""
    await _require_known(session, [line.sku for line in lines], [line.location for line in lines])
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
    (and store) may settle it there; None: an order's or fulfilment's own reservation.
    `beyond_safety_stock`: units that arrived for a named order (a ship-to-store parcel) are
    that order's whatever the safety stock: only `on_hand - reserved` guards them."""
    _check_reference(reference, holder)
    wanted = rules.lock_order(_as_lines(lines))
    if not wanted:
        raise InvalidInput("a reservation needs at least one line", code="no_lines")
    _no_duplicates([(line.sku, line.location) for line in wanted], "a SKU at a location")
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
    wanted = _as_lines([line])[0]
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


def holder_for(principal: Principal) -> str:
    """Who holds what this key reserves through the API (rules.holder_of)."""
    return rules.holder_of(
        principal.role.value, principal.channel.value if principal.channel else None, principal.location_code
    )


def _check_reference(reference: str, holder: str | None) -> None:
    if holder is not None and rules.is_flow_reference(reference):
        raise ReservedReference(
            f"references starting with {', '.join(rules.FLOW_REFERENCE_PREFIXES)} belong to orders and fulfilment"
        )


def _require_holder(principal: Principal | None, res: Reservation, *, reading: bool = False) -> None:
    """Through the API a key acts only on what its channel (and store) reserved there; an
    admin on any such hold, and reads any reservation. The flows (no principal) act on all."""
    if principal is None or (reading and principal.role == Role.ADMIN):
        return
    why = rules.may_settle(res.holder, holder_for(principal), admin=principal.role == Role.ADMIN)
    if why == "held_by_order":
        raise ReservationHeldByOrder(
            "this reservation belongs to an order: cancel the order or act on its fulfillment order"
        )
    if why == "another_holder":
        raise NotReservationHolder("only the channel (and store) that made this reservation may act on it")


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
    _require_holder(principal, res, reading=True)
    rows = await repository.reservation_lines(session, [res.id])
    _require_every_location(principal, rows)
    return _reservation_out(res, rows)


def _require_every_location(principal: Principal | None, rows: Sequence[Any]) -> None:
    if principal is not None:
        for row in rows:
            principal.require_location(row.location_code)


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
    _require_holder(principal, res)
    held = await repository.reservation_lines(session, [res.id])
    _require_every_location(principal, held)
    open_lines = _open_lines(held)
    requested = None
    if lines is not None:
        requested = _as_lines(lines)
        _no_duplicates([(line.sku, line.location) for line in requested], "a SKU at a location")
    plan = rules.settle_plan(open_lines, requested)
    if isinstance(plan, str):
        raise ExceedsOpenQuantity(plan)
    if not plan:
        return _reservation_out(res, await repository.reservation_lines(session, [res.id]))
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
    return _reservation_out(res, after)


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


# ---- availability ------------------------------------------------------------------------------------


async def availability(
    session: AsyncSession,
    *,
    skus: Sequence[str],
    channel: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    pickup_only: bool = False,
) -> AvailabilityOut:
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        raise InvalidInput("name at least one SKU", code="no_skus")
    if len(wanted) > rules.MAX_AVAILABILITY_SKUS:
        raise InvalidInput(f"at most {rules.MAX_AVAILABILITY_SKUS} SKUs per request", code="too_many_skus")
    if (lat is None) != (lon is None):
        raise InvalidInput("give both lat and lon, or neither", code="invalid_point")
    if radius_km is not None and lat is None:
        raise InvalidInput("radius_km needs lat and lon", code="invalid_point")
    facts = await catalog.variant_facts(session, wanted)
    sold = [s for s in wanted if s in facts and facts[s].sold_in(channel)]
    rows = (
        await repository.availability(session, sold, lat=lat, lon=lon, radius_km=radius_km, pickup_only=pickup_only)
        if sold
        else []
    )
    by_sku: dict[str, SkuAvailability] = {}
    for r in rows:
        if r.location_code is None:
            by_sku[r.sku] = SkuAvailability(sku=r.sku, available_to_ship=int(r.available), locations=[])
        else:
            by_sku[r.sku].locations.append(
                LocationAvailability(
                    location=r.location_code,
                    kind=r.kind,
                    available=int(r.available),
                    ships=r.ships,
                    pickup=r.pickup,
                    distance_km=None if r.distance_km is None else round(float(r.distance_km), 2),
                )
            )
    items = []
    for sku in wanted:
        if sku not in facts:
            items.append(SkuAvailability(sku=sku, available_to_ship=0, locations=[], reason="unknown_sku"))
        elif sku not in sold:
            items.append(SkuAvailability(sku=sku, available_to_ship=0, locations=[], reason="not_sold_in_channel"))
        else:
            items.append(by_sku.get(sku) or SkuAvailability(sku=sku, available_to_ship=0, locations=[]))
    return AvailabilityOut(items=items)


async def available_by_location(
    session: AsyncSession, skus: Sequence[str], location_codes: Sequence[str] | None = None
) -> dict[tuple[str, str], int]:
    rows = await repository.available_by_location(session, list(dict.fromkeys(skus)), location_codes)
    return {(r.sku, r.location_code): int(r.available) for r in rows}


class LocationStock(msgspec.Struct, frozen=True, kw_only=True):
    """A location as the sourcing planner sees it, with `available[sku]` (net of reservations
    and safety stock; absent = none, and always absent at an inactive location)."""

    code: str
    kind: str
    latitude: float
    longitude: float
    ships: bool
    pickup: bool
    active: bool
    daily_capacity: int
    available: dict[str, int]


async def sourcing_locations(
    session: AsyncSession,
    skus: Sequence[str],
    *,
    serves: Literal["delivery", "pickup"] | None = None,
    pickup_location: str | None = None,
) -> list[LocationStock]:
    """The locations an order could be sourced from, by code, with their stock of `skus`:
    for a delivery every location (each is explained in the plan) but stock only where it
    ships; for a pickup the store `pickup_location` (if it exists) and the warehouses; with
    `serves=None` every location and its stock."""
    if serves == "pickup" and pickup_location is None:
        raise ValueError("a pickup is served from its pickup_location")
    rows = await repository.sourcing_locations(session, list(dict.fromkeys(skus)), serves or "any", pickup_location)
    return [
        LocationStock(
            code=r[0],
            kind=r[1],
            latitude=r[2],
            longitude=r[3],
            ships=r[4],
            pickup=r[5],
            active=r[6],
            daily_capacity=r[7],
            available=dict(zip(r[8], r[9], strict=True)) if r[8] is not None else {},
        )
        for r in rows
    ]


# ---- transfers -----------------------------------------------------------------------------------------


def _transfer_out(t: Transfer, lines: Sequence[TransferLine]) -> TransferOut:
    return TransferOut(
        id=t.id,
        from_location=t.from_location,
        to_location=t.to_location,
        status=t.status,
        note=t.note,
        lines=[TransferLineOut(sku=line.sku, quantity=line.quantity) for line in lines],
        created_at=t.created_at,
        dispatched_at=t.dispatched_at,
        received_at=t.received_at,
    )


async def create_transfer(
    session: AsyncSession,
    *,
    from_location: str,
    to_location: str,
    lines: Sequence[tuple[str, int]],
    note: str | None = None,
    actor: uuid.UUID | None = None,
) -> TransferOut:
    if from_location == to_location:
        raise InvalidInput("a transfer goes between two different locations", code="same_location")
    _no_duplicates([(sku,) for sku, _ in lines], "a SKU")
    for sku, qty in lines:
        if qty <= 0:
            raise InvalidInput(f"{sku}: quantity must be positive", code="invalid_quantity")
    await _require_known(session, [sku for sku, _ in lines], [from_location, to_location])
    t = Transfer(
        id=uuid.uuid4(),
        from_location=from_location,
        to_location=to_location,
        status="draft",
        note=note,
        actor_key_id=actor,
        created_at=clock.now(),
    )
    tl = [TransferLine(transfer_id=t.id, sku=sku, quantity=qty) for sku, qty in sorted(lines)]
    await repository.add_transfer(session, t, tl)
    return _transfer_out(t, tl)


TransferEnd = Literal["from", "to", "either"]


def _require_end(principal: Principal | None, t: Transfer, at: TransferEnd) -> None:
    if principal is None or principal.location_code is None:
        return
    ends = {"from": [t.from_location], "to": [t.to_location], "either": [t.from_location, t.to_location]}[at]
    if principal.location_code not in ends:
        principal.require_location(ends[0])  # its 403, as every location-bound action answers


async def _locked_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, expected: str, principal: Principal | None, at: TransferEnd
) -> Transfer:
    t = await repository.transfer(session, transfer_id, lock=True)
    if t is None:
        raise TransferNotFound("no such transfer")
    _require_end(principal, t, at)
    if t.status != expected:
        raise InvalidTransferTransition(f"the transfer is {t.status}, not {expected}", current_status=t.status)
    return t


async def get_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, principal: Principal | None = None
) -> TransferOut:
    t = await repository.transfer(session, transfer_id)
    if t is None:
        raise TransferNotFound("no such transfer")
    _require_end(principal, t, "either")
    return _transfer_out(t, await repository.transfer_lines(session, [t.id]))


async def list_transfers(
    session: AsyncSession, *, status: str | None, location_code: str | None, limit: int, cursor: str | None
) -> Page[TransferOut]:
    after = TRANSFERS.after(cursor)
    key = (after[0], after[1]) if after else None
    rows = await repository.list_transfers(
        session, status=status, location_code=location_code, after=key, limit=limit + 1
    )
    lines = await repository.transfer_lines(session, [t.id for t in rows])
    by_id: dict[uuid.UUID, list[TransferLine]] = {}
    for line in lines:
        by_id.setdefault(line.transfer_id, []).append(line)
    return TRANSFERS.page(
        [_transfer_out(t, by_id.get(t.id, [])) for t in rows],
        limit,
        lambda o: [o.created_at, o.id],
    )


async def dispatch_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, actor: uuid.UUID | None = None, principal: Principal | None = None
) -> TransferOut:
    t = await _locked_transfer(session, transfer_id, "draft", principal, "from")
    lines = await repository.transfer_lines(session, [t.id])
    ref = f"transfer:{t.id}"
    changes = [
        Change(
            line.sku,
            t.from_location,
            on_hand=-line.quantity,
            reason=Reason.TRANSFER_OUT.value,
            reference=ref,
            keep_reserved=True,
        )
        for line in lines
    ] + [Change(line.sku, t.to_location, in_transit=line.quantity) for line in lines]
    now = clock.now()
    rows = await repository.apply_changes(session, changes, actor=actor, now=now)
    if len(rows) != len(changes):
        changed = {r.sku for r in rows if r.location_code == t.from_location}
        short = [line for line in lines if line.sku not in changed]
        avail = await repository.availability_of_lines(session, [(line.sku, t.from_location) for line in short])
        raise InsufficientStock(
            "the source does not hold these units outside reservations",
            lines=[
                {
                    "sku": line.sku,
                    "location": t.from_location,
                    "requested": line.quantity,
                    "available": avail[(line.sku, t.from_location)],
                }
                for line in short
            ],
        )
    t.status, t.dispatched_at = "dispatched", now
    await session.flush()
    out = _transfer_out(t, lines)
    await outbox.record(
        session, "transfer.dispatched", aggregate_type="transfer", aggregate_id=str(t.id), payload=structs.asdict(out)
    )
    return out


async def receive_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, actor: uuid.UUID | None = None, principal: Principal | None = None
) -> TransferOut:
    t = await _locked_transfer(session, transfer_id, "dispatched", principal, "to")
    lines = await repository.transfer_lines(session, [t.id])
    ref = f"transfer:{t.id}"
    changes = [
        Change(
            line.sku,
            t.to_location,
            on_hand=line.quantity,
            in_transit=-line.quantity,
            reason=Reason.TRANSFER_IN.value,
            reference=ref,
        )
        for line in lines
    ]
    now = clock.now()
    rows = await repository.apply_changes(session, changes, actor=actor, now=now)
    if len(rows) != len(changes):
        raise RuntimeError("in_transit fell below a dispatched transfer; run `oms check`")
    t.status, t.received_at = "received", now
    await session.flush()
    out = _transfer_out(t, lines)
    await outbox.record(
        session, "transfer.received", aggregate_type="transfer", aggregate_id=str(t.id), payload=structs.asdict(out)
    )
    return out


async def cancel_transfer(
    session: AsyncSession, transfer_id: uuid.UUID, *, principal: Principal | None = None
) -> TransferOut:
    t = await _locked_transfer(session, transfer_id, "draft", principal, "either")
    t.status = "cancelled"
    await session.flush()
    return _transfer_out(t, await repository.transfer_lines(session, [t.id]))


# ---- integrity --------------------------------------------------------------------------------------------


async def check_integrity(session: AsyncSession, *, limit: int = 1000) -> list[Finding]:
    findings = await repository.integrity_findings(session, limit)
    return [
        Finding(
            check=name,
            sku=row.sku,
            location=row.location,
            actual=None if row.actual is None else int(row.actual),
            expected=None if row.expected is None else int(row.expected),
        )
        for name, row in findings
    ]
