"""Reservations (holds) over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import CHANNEL_ROLES, Principal
from app.core.errors import problem_responses
from app.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.core.idempotency import idempotent
from app.core.routes import action
from app.core.settings import get_settings
from app.inventory import service
from app.inventory.controllers.common import HOLDERS, TILLS
from app.inventory.errors import ExpiryTooFar
from app.inventory.schemas import ConsumeBody, ReleaseBody, ReservationCreate, ReservationOut, SettleLine


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
        "channel or store, is 409 `reference_in_use`. References of orders and fulfillment "
        "(`order:`, `resource:`, `fulfillment:`, `exchange:`) are 422 `reference_reserved`. "
        "Holds of channel keys expire: by default after OMS_HOLD_TTL_MINUTES, at the latest after "
        "OMS_HOLD_MAX_MINUTES (422 `expiry_too_far`). Only the channel (and store) that made a "
        "hold may release or consume it here; an order's reservation moves only with its order."
    ),
    responses=problem_responses(
        400,
        403,
        409,
        422,
        429,
        "duplicate_line",
        "expiry_too_far",
        "insufficient_stock",
        "invalid_expiry",
        "reference_in_use",
        "reference_reserved",
        "unknown_location",
        "unknown_sku",
    ),
)
async def create_reservation(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    state: State,
    data: ReservationCreate,
) -> Response[ReservationOut]:
    """Hold stock for a reference (a kiosk basket, a till sale): all lines or none, never beyond
    what is available; holds made by channel keys expire."""
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
    responses=problem_responses(
        403, 404, 409, "not_reservation_holder", "reservation_held_by_order", "reservation_not_found"
    ),
)
async def get_reservation(db_session: AsyncSession, principal: Principal, reservation_id: uuid.UUID) -> ReservationOut:
    """A reservation this key's channel (and store) made; admins see any."""
    return await service.get_reservation(db_session, reservation_id=reservation_id, principal=principal)


@action(
    "/reservations/{reservation_id:uuid}/release",
    opt=HOLDERS,
    errors=(
        400,
        403,
        404,
        409,
        "exceeds_open_quantity",
        "not_reservation_holder",
        "reservation_held_by_order",
        "reservation_not_found",
    ),
    summary="Release all or part of a hold this key's channel (and store) made",
    description=(
        "403 `not_reservation_holder`: another channel or store made it; 409 "
        "`reservation_held_by_order`: an order's reservation, released only by cancelling the order."
    ),
)
async def release_reservation(
    db_session: AsyncSession, principal: Principal, reservation_id: uuid.UUID, data: ReleaseBody
) -> ReservationOut:
    """Give back all or part of a hold this key's channel (and store) made."""
    lines = _settle_lines(data.lines)
    return await service.release(
        db_session, reservation_id=reservation_id, lines=lines, actor=principal.key_id, principal=principal
    )


@action(
    "/reservations/{reservation_id:uuid}/consume",
    opt=TILLS,
    errors=(400, 403, 404, 409, "not_reservation_holder", "reservation_held_by_order"),
    summary="A till sale of a hold its store made: on_hand and reserved go down, one sale ledger row per line",
    description=(
        "POS keys only, on holds their own store made; `sale_reference` (the till's receipt) "
        "is the reference of the `sale` ledger rows. Orders' stock leaves through fulfillment."
    ),
)
async def consume_reservation(
    db_session: AsyncSession, principal: Principal, reservation_id: uuid.UUID, data: ConsumeBody
) -> ReservationOut:
    """A till sale of a hold its store made: on hand and reserved go down, one sale ledger row per
    line."""
    return await service.consume(
        db_session,
        reservation_id=reservation_id,
        lines=_settle_lines(data.lines),
        actor=principal.key_id,
        ledger_reference=data.sale_reference,
        principal=principal,
    )
