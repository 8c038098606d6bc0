"""Returns' calls into fulfilment, inventory, catalog, pricing, loyalty and customers —
through their services only, in one place, so each contract is read once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core.auth import Principal
from app.customers import service as customers
from app.fulfillment import service as fulfillment
from app.inventory import service as inventory
from app.inventory.errors import InsufficientStock, LocationNotFound
from app.loyalty import service as loyalty
from app.pricing import service as pricing
from app.pricing.errors import PromotionNotFound
from app.pricing.rules import Kind

ProductFacts = catalog.VariantFacts


@dataclass(frozen=True)
class Delivered:
    """Units of an order line that reached the customer, and when the last of them did."""

    quantity: int
    last_at: datetime | None


async def delivered_lines(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[int, Delivered]]:
    """Per order, per order line: units delivered to the door (a `delivery` fulfillment order
    whose parcels all arrived) or collected at a store (a `pickup` one). The return window
    starts at the last of these. Ship-to-store legs are not deliveries: their pickup is. One
    call to fulfilment for all the orders (a customer's look-up scans up to 20)."""
    out: dict[uuid.UUID, dict[int, Delivered]] = {order_id: {} for order_id in order_ids}
    for order_id, handed in (await fulfillment.delivered_lines(session, order_ids)).items():
        lines = out.setdefault(order_id, {})
        for line in handed:
            if not line.line_id.isdigit():
                continue
            no = int(line.line_id)
            before = lines.get(no, Delivered(0, None))
            last = max(line.at, before.last_at) if before.last_at else line.at
            lines[no] = Delivered(before.quantity + line.quantity, last)
    return out


async def product_facts(session: AsyncSession, skus: Iterable[str]) -> dict[str, ProductFacts]:
    return await catalog.variant_facts(session, skus)


async def reward_bp(session: AsyncSession, promotion_ids: Iterable[str]) -> dict[str, int]:
    """The buy-X-get-Y promotions among `promotion_ids` and their reward share (basis points):
    the refund arithmetic needs to know which discounts sit on rewarded units only."""
    out: dict[str, int] = {}
    for raw in sorted(set(promotion_ids)):
        try:
            promotion = await pricing.get_promotion(session, uuid.UUID(raw))
        except (PromotionNotFound, ValueError):
            continue
        if promotion.kind == Kind.BUY_X_GET_Y:
            out[raw] = int(promotion.reward_percent_bp)
    return out


async def location(session: AsyncSession, code: str) -> Any | None:
    try:
        return await inventory.get_location(session, code)
    except LocationNotFound:
        return None


async def restock(session: AsyncSession, sku: str, location_code: str, units: int, reference: str, actor: Any) -> None:
    """Back into the receiving location's on_hand: a `return_restock` ledger row."""
    await inventory.adjust(
        session,
        sku=sku,
        location_code=location_code,
        delta=units,
        reason="return_restock",
        reference=reference,
        actor=actor,
    )


async def write_off(
    session: AsyncSession, sku: str, location_code: str, units: int, reference: str, actor: Any
) -> None:
    """A damaged unit enters the receiving location's books and is written off at once:
    a `return_restock` row and a `damage` row, so on_hand (and availability) do not move and
    the ledger still explains where the unit went."""
    await restock(session, sku, location_code, units, reference, actor)
    await inventory.adjust(
        session, sku=sku, location_code=location_code, delta=-units, reason="damage", reference=reference, actor=actor
    )


async def hand_over(
    session: AsyncSession, reference: str, sku: str, location_code: str, units: int, actor: Any
) -> bool:
    """An exchange's replacement leaves the store's shelf: reserved and consumed at once (a
    `sale` ledger row). False when the store does not have it available."""
    try:
        await inventory.reserve(session, reference=reference, lines=[(sku, location_code, units)], actor=actor)
    except InsufficientStock:
        return False
    await inventory.consume(session, reference=reference, actor=actor, ledger_reference=reference)
    return True


async def price_today(session: AsyncSession, sku: str, currency: str, store: str, channel: str | None) -> int:
    """The replacement's price at this store today (one unit, no codes)."""
    zone = await pricing.resolve_zone(session, location_code=store)
    quote = await pricing.quote(
        session,
        pricing.QuoteInput(currency=currency, lines=(pricing.QuoteLine(sku, 1),), zone=zone, codes=(), channel=channel),
    )
    return int(quote.result.lines[0].net)


async def reverse_points(
    session: AsyncSession, return_id: uuid.UUID, lines: Sequence[tuple[str, int]], channel: str | None
) -> tuple[int, int]:
    """Take back the points the refunded lines earned: (points reversed, value of the points
    already spent, to be deducted from the money refund)."""
    if not lines:
        return 0, 0
    result = await loyalty.reverse(
        session, source_id=f"return:{return_id}", event_type="return.refunded", lines=list(lines), channel=channel
    )
    return result.points_reversed, int(result.shortfall_value.amount)


async def points_reversed_by(session: AsyncSession, return_id: uuid.UUID) -> int | None:
    """The points the return's refund has taken back by now, including those of lines whose
    earning arrived after the refund (loyalty applies a waiting reversal when it earns)."""
    result = await loyalty.reversal_so_far(session, source_id=f"return:{return_id}", event_type="return.refunded")
    return None if result is None else result.points_reversed


async def authorize_customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None
) -> None:
    await customers.authorize_customer_access(session, principal, customer_id, token)


async def survivor_of(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
    return await customers.resolve_customer_id(session, customer_id)
