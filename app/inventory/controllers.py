"""Inventory over HTTP: locations, stock levels and ledger, counts and POS sync, transfers,
reservations (holds), availability.

Keys bound to a location (kiosk, POS, logistics) act only there: a POS key syncs and counts
its own store, a kiosk holds stock in its own store, a logistics key adjusts and moves its
own location's stock. Reads of levels and ledger by such a key default to its location.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import ALL_ROLES, CHANNEL_ROLES, Principal, Role, roles
from app.core.errors import InvalidInput, problem_responses
from app.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.core.idempotency import IdempotencyKeyHeader, idempotent, key_required
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.routes import action
from app.core.settings import get_settings
from app.inventory import service
from app.inventory.errors import ExpiryTooFar
from app.inventory.schemas import (
    AdjustmentCreate,
    AvailabilityOut,
    ConsumeBody,
    CountCreate,
    LedgerEntryOut,
    LocationCreate,
    LocationOut,
    LocationUpdate,
    OnHandAtOut,
    ReleaseBody,
    ReservationCreate,
    ReservationOut,
    SafetyStockUpdate,
    SettleLine,
    StockLevelOut,
    SyncBatch,
    SyncOut,
    TransferCreate,
    TransferOut,
)

ADMIN = roles(Role.ADMIN)
EVERYONE = roles(ALL_ROLES)
STOCK_READERS = roles(Role.ADMIN, Role.MERCHANDISER, Role.INTEGRATION, Role.LOGISTICS, Role.POS)
LEDGER_READERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS, Role.POS)
ADJUSTERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS)
COUNTERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS, Role.POS)
SYNCERS = roles(Role.ADMIN, Role.INTEGRATION, Role.POS)
MOVERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS)
HOLDERS = roles(Role.ADMIN, Role.INTEGRATION, Role.STOREFRONT, Role.KIOSK, Role.CONTACT_CENTER, Role.POS)
TILLS = roles(Role.POS)

CodeParam = Annotated[str | None, Parameter(max_length=40)]
SkuParam = Annotated[str | None, Parameter(max_length=64)]


def _own_location(principal: Principal, requested: str | None) -> str | None:
    """A location-bound key reads its own location (by default) and nothing else."""
    if principal.location_code is None:
        return requested
    principal.require_location(requested or principal.location_code)
    return principal.location_code


# ---- locations -------------------------------------------------------------------------------------


@post("/locations", opt=ADMIN, summary="Create a warehouse or store", responses=problem_responses(400, 409, 422))
async def create_location(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: LocationCreate
) -> Response[LocationOut]:
    return await idempotent(db_session, request, principal, lambda: service.create_location(db_session, data))


@get(
    "/locations",
    opt=EVERYONE,
    summary="Locations by code; filter by kind and capabilities",
    responses=problem_responses(400),
)
async def list_locations(
    db_session: AsyncSession,
    kind: Annotated[str | None, Parameter(pattern="^(warehouse|store)$")] = None,
    ships: bool | None = None,
    pickup: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LocationOut]:
    return await service.list_locations_page(
        db_session, kind=kind, ships=ships, pickup=pickup, limit=limit, cursor=cursor
    )


@get("/locations/{code:str}", opt=EVERYONE, summary="A location", responses=problem_responses(404))
async def get_location(db_session: AsyncSession, code: str) -> LocationOut:
    return await service.get_location(db_session, code)


@patch("/locations/{code:str}", opt=ADMIN, summary="Change a location", responses=problem_responses(400, 404, 422))
async def update_location(db_session: AsyncSession, code: str, data: LocationUpdate) -> LocationOut:
    return await service.update_location(db_session, code, data)


@delete(
    "/locations/{code:str}",
    opt=ADMIN,
    summary="Delete a location that never held stock (else deactivate it)",
    responses=problem_responses(404, 409),
)
async def delete_location(db_session: AsyncSession, code: str) -> None:
    await service.delete_location(db_session, code)


# ---- stock -------------------------------------------------------------------------------------------


@get(
    "/stock",
    opt=STOCK_READERS,
    summary="Stock levels by SKU and/or location (available = on_hand - reserved - safety_stock, never below 0)",
    responses=problem_responses(400, 403),
)
async def list_stock(
    db_session: AsyncSession,
    principal: Principal,
    sku: SkuParam = None,
    location: CodeParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[StockLevelOut]:
    location = _own_location(principal, location)
    return await service.stock_levels(db_session, sku=sku, location_code=location, limit=limit, cursor=cursor)


@post(
    "/stock/adjustments",
    opt=ADJUSTERS,
    summary="Change on_hand by a delta with a reason (receipt, return_restock, damage, correction)",
    responses=problem_responses(400, 403, 409, 422, 428),
    before_request=key_required,
)
async def create_adjustment(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    data: AdjustmentCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[StockLevelOut]:
    principal.require_location(data.location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.adjust(
            db_session,
            sku=data.sku,
            location_code=data.location,
            delta=data.delta,
            reason=data.reason,
            reference=data.reference,
            actor=principal.key_id,
        ),
        required=True,
    )


@post(
    "/stock/counts",
    opt=COUNTERS,
    summary="Cycle count: set absolute on_hand; the ledger records the difference",
    responses=problem_responses(400, 403, 409, 422, 428),
    before_request=key_required,
)
async def create_count(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    data: CountCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[list[StockLevelOut]]:
    principal.require_location(data.location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.count(
            db_session,
            location_code=data.location,
            lines=[(line.sku, line.on_hand) for line in data.lines],
            counted_at=data.counted_at,
            reference=data.reference,
            actor=principal.key_id,
        ),
        required=True,
    )


@patch(
    "/stock/{location:str}/{sku:str}",
    opt=roles(Role.ADMIN, Role.INTEGRATION),
    summary="Set a SKU's safety stock at a location (null: the location default applies)",
    responses=problem_responses(400, 422),
)
async def set_safety_stock(db_session: AsyncSession, location: str, sku: str, data: SafetyStockUpdate) -> StockLevelOut:
    return await service.set_safety_stock(db_session, sku=sku, location_code=location, safety_stock=data.safety_stock)


@get(
    "/stock/ledger",
    opt=LEDGER_READERS,
    summary="The stock ledger of a location and/or SKU, newest first",
    responses=problem_responses(400, 403, 422),
)
async def read_ledger(
    db_session: AsyncSession,
    principal: Principal,
    sku: SkuParam = None,
    location: CodeParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LedgerEntryOut]:
    location = _own_location(principal, location)
    return await service.ledger(db_session, sku=sku, location_code=location, limit=limit, cursor=cursor)


@get(
    "/stock/on-hand-at",
    opt=LEDGER_READERS,
    summary="on_hand of a SKU at a location as of a past time (from the ledger)",
    responses=problem_responses(400, 403, 422),
)
async def read_on_hand_at(
    db_session: AsyncSession,
    principal: Principal,
    sku: Annotated[str, Parameter(min_length=1, max_length=64)],
    location: Annotated[str, Parameter(min_length=1, max_length=40)],
    at: datetime,
) -> OnHandAtOut:
    principal.require_location(location)
    if at.tzinfo is None:
        raise InvalidInput("`at` needs a time zone offset", code="naive_time")
    return await service.on_hand_at(db_session, sku=sku, location_code=location, at=at)


@post(
    "/stock/sync",
    opt=SYNCERS,
    status_code=200,
    summary="POS stock sync: a store's counted stock as a batch (up to 10,000 lines); re-sending changes nothing",
    description=(
        "A line counted before a movement already recorded for that SKU at that store is applied as of its "
        "`counted_at`: the change written is the count minus what the ledger held at `counted_at`, so later "
        "sales and receipts stay. A line that would then leave on_hand negative is rejected "
        "(`count_conflicts_with_later_movements`); the other lines apply."
    ),
    responses=problem_responses(400, 403, 422, 428),
    before_request=key_required,
)
async def sync_stock(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    data: SyncBatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[SyncOut]:
    principal.require_location(data.location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.sync_counts(
            db_session,
            location_code=data.location,
            batch_id=data.batch_id,
            lines=[(line.sku, line.on_hand, line.counted_at) for line in data.lines],
            actor=principal.key_id,
        ),
        200,
        required=True,
    )


# ---- transfers -------------------------------------------------------------------------------------------


@post(
    "/transfers",
    opt=MOVERS,
    summary="Plan a transfer between two locations",
    responses=problem_responses(400, 403, 422),
)
async def create_transfer(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: TransferCreate
) -> Response[TransferOut]:
    if principal.location_code not in (None, data.from_location, data.to_location):
        principal.require_location(data.from_location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.create_transfer(
            db_session,
            from_location=data.from_location,
            to_location=data.to_location,
            lines=[(line.sku, line.quantity) for line in data.lines],
            note=data.note,
            actor=principal.key_id,
        ),
    )


@get(
    "/transfers",
    opt=MOVERS,
    summary="Transfers, newest first (status=dispatched: in transit)",
    responses=problem_responses(400, 403),
)
async def list_transfers(
    db_session: AsyncSession,
    principal: Principal,
    status: Annotated[str | None, Parameter(pattern="^(draft|dispatched|received|cancelled)$")] = None,
    location: CodeParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TransferOut]:
    location = _own_location(principal, location)
    return await service.list_transfers(db_session, status=status, location_code=location, limit=limit, cursor=cursor)


@get("/transfers/{transfer_id:uuid}", opt=MOVERS, summary="A transfer", responses=problem_responses(403, 404))
async def get_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    return await service.get_transfer(db_session, transfer_id, principal=principal)


def _transfer_action(verb: str, summary: str) -> post:
    """A transfer's transition; the service checks the key's location on the transfer it loads."""
    return action(f"/transfers/{{transfer_id:uuid}}/{verb}", opt=MOVERS, errors=(403, 404, 409), summary=summary)


@_transfer_action("dispatch", "Dispatch: stock leaves the source (transfer_out) and is in transit to the destination")
async def dispatch_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    return await service.dispatch_transfer(db_session, transfer_id, actor=principal.key_id, principal=principal)


@_transfer_action("receive", "Receive: the stock arrives at the destination (transfer_in)")
async def receive_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    return await service.receive_transfer(db_session, transfer_id, actor=principal.key_id, principal=principal)


@_transfer_action("cancel", "Cancel a transfer not yet dispatched")
async def cancel_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    return await service.cancel_transfer(db_session, transfer_id, principal=principal)


# ---- reservations ----------------------------------------------------------------------------------------


def _default_expiry(principal: Principal, expires_at: datetime | None) -> datetime | None:
    """Holds of channel keys (storefront, kiosk, contact center, POS: keys that live where a
    shopper can reach them) always expire: by default after the hold TTL, at the latest after
    the hold limit. Admin and integration holds may stay until released."""
    if principal.role not in CHANNEL_ROLES:
        return expires_at
    settings = get_settings()
    now = clock.now()
    if expires_at is None:
        return now + timedelta(minutes=settings.hold_ttl_minutes)
    if expires_at > now + timedelta(minutes=settings.hold_max_minutes):
        raise ExpiryTooFar(f"a hold of this key expires within {settings.hold_max_minutes} minutes")
    return expires_at


@post(
    "/reservations",
    opt=HOLDERS,
    summary="Reserve stock for a reference, all lines or none (holds may expire)",
    description=(
        "409 `insufficient_stock` lists in `extra.lines` every line that could not be reserved "
        "({sku, location, requested, available}). The reference is unique: sending the same "
        "reservation again returns it; the same reference with other lines, or held by another "
        "channel or store, is 409 `reference_in_use`. References of orders and fulfilment "
        "(`order:`, `resource:`, `fulfillment:`, `exchange:`) are 422 `reference_reserved`. "
        "Holds of channel keys expire: by default after OMS_HOLD_TTL_MINUTES, at the latest after "
        "OMS_HOLD_MAX_MINUTES (422 `expiry_too_far`). Only the channel (and store) that made a "
        "hold may release or consume it here; an order's reservation moves only with its order."
    ),
    responses=problem_responses(400, 403, 409, 422, 429),
)
async def create_reservation(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    state: State,
    data: ReservationCreate,
) -> Response[ReservationOut]:
    for line in data.lines:
        principal.require_location(line.location)
    expires_at = _default_expiry(principal, data.expires_at)
    lines = [(line.sku, line.location, line.quantity) for line in data.lines]
    holder = service.holder_for(principal)
    if len(lines) == 1 and request.headers.get(IDEMPOTENCY_HEADER) is None:
        # the hot path: combined per SKU in this process, committed by its own transaction
        out = await service.hold(
            state.sessionmaker,
            reference=data.reference,
            line=lines[0],
            expires_at=expires_at,
            actor=principal.key_id,
            holder=holder,
        )
        return Response(out, status_code=201)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.reserve(
            db_session,
            reference=data.reference,
            lines=lines,
            expires_at=expires_at,
            actor=principal.key_id,
            holder=holder,
        ),
    )


def _settle_lines(lines: list[SettleLine] | None) -> list[tuple[str, str, int]] | None:
    """What to release or consume (None: all still held). The service checks that the key
    may act at every location of the reservation, on the reservation it locks."""
    return None if lines is None else [(x.sku, x.location, x.quantity) for x in lines]


@get(
    "/reservations/{reservation_id:uuid}",
    opt=HOLDERS,
    summary="A reservation this key's channel (and store) made (admins: any)",
    responses=problem_responses(403, 404, 409),
)
async def get_reservation(db_session: AsyncSession, principal: Principal, reservation_id: uuid.UUID) -> ReservationOut:
    return await service.get_reservation(db_session, reservation_id=reservation_id, principal=principal)


@action(
    "/reservations/{reservation_id:uuid}/release",
    opt=HOLDERS,
    errors=(400, 403, 404, 409),
    summary="Release all or part of a hold this key's channel (and store) made",
    description=(
        "403 `not_reservation_holder`: another channel or store made it; 409 "
        "`reservation_held_by_order`: an order's reservation, released only by cancelling the order."
    ),
)
async def release_reservation(
    db_session: AsyncSession, principal: Principal, reservation_id: uuid.UUID, data: ReleaseBody
) -> ReservationOut:
    lines = _settle_lines(data.lines)
    return await service.release(
        db_session, reservation_id=reservation_id, lines=lines, actor=principal.key_id, principal=principal
    )


@action(
    "/reservations/{reservation_id:uuid}/consume",
    opt=TILLS,
    errors=(400, 403, 404, 409),
    summary="A till sale of a hold its store made: on_hand and reserved go down, one sale ledger row per line",
    description=(
        "POS keys only, on holds their own store made; `sale_reference` (the till's receipt) "
        "is the reference of the `sale` ledger rows. Orders' stock leaves through fulfilment."
    ),
)
async def consume_reservation(
    db_session: AsyncSession, principal: Principal, reservation_id: uuid.UUID, data: ConsumeBody
) -> ReservationOut:
    return await service.consume(
        db_session,
        reservation_id=reservation_id,
        lines=_settle_lines(data.lines),
        actor=principal.key_id,
        ledger_reference=data.sale_reference,
        principal=principal,
    )


# ---- availability -------------------------------------------------------------------------------------------


@get(
    "/availability",
    opt=EVERYONE,
    summary="Available to promise for up to 200 SKUs: total to ship, and per location (nearest first)",
    description=(
        "A SKU whose product is not sold in the caller's channel reports nothing available "
        "(`reason: not_sold_in_channel`). With lat/lon, locations carry their distance and come "
        "nearest first; radius_km keeps only those within it; pickup_only keeps pickup stores."
    ),
    responses=problem_responses(400, 422),
)
async def read_availability(
    db_session: AsyncSession,
    principal: Principal,
    skus: Annotated[str, Parameter(min_length=1, max_length=13_200, description="comma-separated SKUs (max 200)")],
    lat: Annotated[float | None, Parameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Parameter(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Parameter(gt=0, le=20_000)] = None,
    pickup_only: bool = False,
) -> AvailabilityOut:
    wanted = [s.strip() for s in skus.split(",") if s.strip()]
    return await service.availability(
        db_session,
        skus=wanted,
        channel=principal.channel.value if principal.channel else None,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        pickup_only=pickup_only,
    )


ROUTES: list[Any] = [
    create_location,
    list_locations,
    get_location,
    update_location,
    delete_location,
    list_stock,
    create_adjustment,
    create_count,
    set_safety_stock,
    read_ledger,
    read_on_hand_at,
    sync_stock,
    create_transfer,
    list_transfers,
    get_transfer,
    dispatch_transfer,
    receive_transfer,
    cancel_transfer,
    create_reservation,
    get_reservation,
    release_reservation,
    consume_reservation,
    read_availability,
]
