"""The orders domain's calls into pricing, inventory and customers — through their services
only, in one place, so each contract is read once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.customers import service as customers
from app.inventory import service as inventory
from app.pricing import service as pricing

Quote = Any  # pricing's quote result: lines (per-line snapshots), subtotal, discount_total, total, codes


async def quote(
    session: AsyncSession,
    *,
    currency: str,
    lines: Mapping[str, int],
    codes: Sequence[str],
    customer_id: uuid.UUID | None,
    channel: str | None,
) -> Quote:
    return await pricing.quote(
        session,
        currency=currency,
        lines=list(lines.items()),
        codes=list(codes),
        customer_id=customer_id,
        channel=channel,
    )


async def redeem(session: AsyncSession, result: Quote, *, order_id: uuid.UUID, customer_id: uuid.UUID | None) -> None:
    await pricing.redeem(session, result, order_id=order_id, customer_id=customer_id)


async def give_back(session: AsyncSession, *, order_id: uuid.UUID) -> None:
    await pricing.give_back(session, order_id=order_id)


async def reserve(
    session: AsyncSession, reference: str, lines: Sequence[tuple[str, str, int]], principal: Principal
) -> None:
    """(sku, location, qty) lines, all or nothing; raises inventory's InsufficientStock."""
    await inventory.reserve(session, reference=reference, lines=list(lines), actor_key_id=principal.key_id)


async def release(session: AsyncSession, reference: str, lines: Sequence[tuple[str, str, int]] | None = None) -> None:
    await inventory.release(session, reference=reference, lines=list(lines) if lines is not None else None)


async def consume(session: AsyncSession, reference: str, lines: Sequence[tuple[str, str, int]]) -> None:
    await inventory.consume(session, reference=reference, lines=list(lines))


async def location(session: AsyncSession, code: str) -> Any | None:
    return await inventory.get_location(session, code)


async def warehouses(session: AsyncSession) -> list[Any]:
    return [loc for loc in await inventory.list_locations(session) if loc.kind == "warehouse" and loc.ships]


async def available(session: AsyncSession, skus: Sequence[str], locations: Sequence[str]) -> dict[str, dict[str, int]]:
    """location -> sku -> available."""
    return await inventory.available_by_location(session, skus=list(skus), locations=list(locations))


async def authorize_customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None
) -> None:
    await customers.authorize_customer_access(session, principal, customer_id, token)


async def survivor_of(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
    return await customers.resolve_customer_id(session, customer_id)
