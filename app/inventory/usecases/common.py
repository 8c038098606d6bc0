"""Pieces several inventory use cases share: checks of the input, stock level and
reservation shapes, who holds a reservation made through the API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core.auth import Principal, Role
from app.core.errors import InvalidInput
from app.inventory import repository, rules
from app.inventory.errors import (
    DuplicateLine,
    NotReservationHolder,
    ReservationHeldByOrder,
    UnknownLocation,
    UnknownSku,
)
from app.inventory.models import Reservation
from app.inventory.rules import Line
from app.inventory.schemas import ReservationLineOut, ReservationOut, StockLevelOut


async def require_known(session: AsyncSession, skus: Sequence[str], locations: Sequence[str]) -> None:
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


def level_out(row: Row[Any]) -> StockLevelOut:
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


async def levels(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> list[StockLevelOut]:
    out: list[StockLevelOut] = []
    for sku, loc in keys:
        row = await repository.stock_level(session, sku, loc)
        if row is not None:
            out.append(level_out(row))
    return out


def no_duplicates(keys: Sequence[tuple[str, ...]], what: str) -> None:
    dups = rules.duplicate_keys(keys)
    if dups:
        raise DuplicateLine(f"{what} appears twice: {', '.join('/'.join(d) for d in dups[:20])}")


def as_lines(lines: Sequence[Any]) -> list[Line]:
    out = [Line(str(s), str(loc), int(q)) for s, loc, q in lines]
    for line in out:
        if line.quantity <= 0:
            raise InvalidInput(f"{line.sku} at {line.location}: quantity must be positive", code="invalid_quantity")
    return out


def reservation_out(res: Reservation, rows: Sequence[Any]) -> ReservationOut:
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


def holder_for(principal: Principal) -> str:
    """Who holds what this key reserves through the API (rules.holder_of)."""
    return rules.holder_of(
        principal.role.value, principal.channel.value if principal.channel else None, principal.location_code
    )


def require_holder(principal: Principal | None, res: Reservation, *, reading: bool = False) -> None:
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


def require_every_location(principal: Principal | None, rows: Sequence[Any]) -> None:
    if principal is not None:
        for row in rows:
            principal.require_location(row.location_code)
