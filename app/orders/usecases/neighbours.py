"""The orders domain's calls into pricing, inventory and customers — through their services
only, in one place, so each contract is read once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.customers import service as customers
from app.customers.errors import InvalidCardNumber, InvalidPhone
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound, ReservationNotFound
from app.pricing import service as pricing

Quote = pricing.Quote


async def quote(
    session: AsyncSession,
    *,
    currency: str,
    lines: Mapping[str, int],
    codes: Sequence[str],
    customer_id: uuid.UUID | None,
    channel: str | None,
    store: str | None = None,
    address: Mapping[str, Any] | None = None,
) -> Quote:
    """Price lines in the zone of the pickup/kiosk store or of the delivery address."""
    country = address.get("country") if address else None
    postal_code = address.get("postal_code") if address else None
    # The quote resolves an address' zone in its own statement: no round trip here.
    zone = (
        pricing.ZoneAddress(country, postal_code or "")
        if store is None and country
        else await pricing.resolve_zone(session, location_code=store, country=country, postal_code=postal_code)
    )
    return await pricing.quote(
        session,
        pricing.QuoteInput(
            currency=currency,
            lines=tuple(pricing.QuoteLine(sku, qty) for sku, qty in lines.items()),
            zone=zone,
            codes=tuple(codes),
            customer_id=customer_id,
            channel=channel,
            home_delivery=address is not None,
        ),
    )


async def redeem(session: AsyncSession, result: Quote, *, order_id: uuid.UUID, customer_id: uuid.UUID | None) -> None:
    await pricing.redeem(session, quote=result, order_id=order_id, customer_id=customer_id)


async def give_back(session: AsyncSession, *, order_id: uuid.UUID) -> None:
    await pricing.give_back(session, order_id=order_id)


async def release(session: AsyncSession, reference: str, lines: Sequence[tuple[str, str, int]] | None = None) -> None:
    """Release (all, or some lines); a reference that never reserved anything is fine."""
    try:
        await inventory.release(session, reference=reference, lines=list(lines) if lines is not None else None)
    except ReservationNotFound:
        return


async def consume(session: AsyncSession, reference: str, lines: Sequence[tuple[str, str, int]]) -> None:
    await inventory.consume(session, reference=reference, lines=list(lines))


async def location(session: AsyncSession, code: str) -> Any | None:
    try:
        return await inventory.get_location(session, code)
    except LocationNotFound:
        return None


async def authorize_customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None
) -> None:
    await customers.authorize_customer_access(session, principal, customer_id, token)


async def survivor_of(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
    return await customers.resolve_customer_id(session, customer_id)


async def customer_with(session: AsyncSession, *, card: str | None, phone: str | None) -> uuid.UUID | None:
    """The customer holding this loyalty card or phone; a malformed one identifies nobody."""
    try:
        found = await customers.find_customers(session, card=card, phone=phone)
    except (InvalidCardNumber, InvalidPhone):
        return None
    return found[0].id if found else None
