"""Fulfillment's stock moves, made through inventory's service (fulfillment sits above
inventory): sourcing's view of the locations, reserve/release/consume of fulfillment
orders' units, count corrections and write-offs, ship-to-store transfers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory import service as inventory

StockLine = tuple[str, str, int]  # (sku, location, quantity)


async def sourcing_locations(
    session: AsyncSession,
    skus: Sequence[str],
    serves: Literal["delivery", "pickup"] | None,
    pickup_location: str | None,
) -> list[inventory.LocationStock]:
    """The locations an order can be sourced from (code, kind, latitude, longitude, ships,
    pickup, active, daily_capacity) with `available[sku]` of `skus`: for a delivery every
    location, stock where it ships; for a pickup its store and the warehouses; for None
    (simulations of both kinds) every location with its stock."""
    return await inventory.sourcing_locations(session, skus, serves=serves, pickup_location=pickup_location)


async def location(session: AsyncSession, code: str) -> Any:
    """Raises inventory's LocationNotFound."""
    return await inventory.get_location(session, code)


async def available(
    session: AsyncSession, skus: Sequence[str], location_codes: Sequence[str] | None
) -> dict[str, dict[str, int]]:
    """location -> sku -> available (net of reservations and safety stock); absent = 0."""
    found = await inventory.available_by_location(
        session, list(skus), list(location_codes) if location_codes is not None else None
    )
    out: dict[str, dict[str, int]] = {}
    for (sku, code), qty in found.items():
        out.setdefault(code, {})[sku] = qty
    return out


async def reserve(
    session: AsyncSession,
    reference: str,
    lines: Sequence[StockLine],
    actor: uuid.UUID | None,
    *,
    beyond_safety_stock: bool = False,
) -> None:
    """All or nothing; raises inventory's InsufficientStock and leaves nothing reserved."""
    await inventory.reserve(
        session, reference=reference, lines=_merged(lines), actor=actor, beyond_safety_stock=beyond_safety_stock
    )


async def release(session: AsyncSession, reference: str, lines: Sequence[StockLine], actor: uuid.UUID | None) -> None:
    if lines:
        await inventory.release(session, reference=reference, lines=_merged(lines), actor=actor)


async def consume(
    session: AsyncSession, reference: str, lines: Sequence[StockLine], actor: uuid.UUID | None, ledger_reference: str
) -> None:
    """The units leave the building: a `sale` in the ledger."""
    if lines:
        await inventory.consume(
            session, reference=reference, lines=_merged(lines), actor=actor, ledger_reference=ledger_reference
        )


async def count_missing(
    session: AsyncSession, location_code: str, missing: dict[str, int], *, reference: str, actor: uuid.UUID | None
) -> None:
    """A cycle-count correction: `missing[sku]` units are not on the shelf (on_hand goes down
    by that much). The stock rows are already locked by this transaction's release."""
    if not missing:
        return
    counted: list[tuple[str, int]] = []
    for sku, units in sorted(missing.items()):
        page = await inventory.stock_levels(session, sku=sku, location_code=location_code, limit=1)
        on_hand = page.items[0].on_hand if page.items else 0
        counted.append((sku, max(on_hand - units, 0)))
    await inventory.count(session, location_code=location_code, lines=counted, reference=reference, actor=actor)


async def write_off(
    session: AsyncSession, location_code: str, damaged: dict[str, int], *, reference: str, actor: uuid.UUID | None
) -> None:
    for sku, units in sorted(damaged.items()):
        if units > 0:
            await inventory.adjust(
                session,
                sku=sku,
                location_code=location_code,
                delta=-units,
                reason="damage",
                reference=reference,
                actor=actor,
            )


async def ship_to_store(
    session: AsyncSession,
    *,
    from_location: str,
    to_location: str,
    lines: Sequence[tuple[str, int]],
    note: str,
    actor: uuid.UUID | None,
) -> uuid.UUID:
    """Create and dispatch a transfer (transfer_out at the warehouse, in transit to the store).
    The caller releases the units' reservation first: reserved units never leave."""
    merged: dict[str, int] = {}
    for sku, qty in lines:
        merged[sku] = merged.get(sku, 0) + qty
    draft = await inventory.create_transfer(
        session,
        from_location=from_location,
        to_location=to_location,
        lines=sorted(merged.items()),
        note=note,
        actor=actor,
    )
    await inventory.dispatch_transfer(session, draft.id, actor=actor)
    return draft.id


async def receive_transfer(session: AsyncSession, transfer_id: uuid.UUID, actor: uuid.UUID | None) -> None:
    """transfer_in at the store: the units are on hand there."""
    await inventory.receive_transfer(session, transfer_id, actor=actor)


def _merged(lines: Sequence[StockLine]) -> list[StockLine]:
    """One line per (sku, location): inventory refuses duplicates."""
    total: dict[tuple[str, str], int] = {}
    for sku, loc, qty in lines:
        total[(sku, loc)] = total.get((sku, loc), 0) + qty
    return [(sku, loc, qty) for (sku, loc), qty in sorted(total.items())]
