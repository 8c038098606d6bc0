"""The delivery promise where shoppers see it — quote, kiosk — from fulfillment's plan preview
and inventory's locations (README "Delivery promise").

Reads only, in the caller's transaction or autocommit session; the time is the core clock's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.fulfillment_choice import FulfillmentOut
from app.fulfillment import service as fulfillment
from app.inventory import service as inventory
from app.pricing.schemas import FulfillmentPromiseOut, PromiseGroupOut


async def quote_promise(
    session: AsyncSession, choice: FulfillmentOut | None, lines: Sequence[tuple[str, int]]
) -> FulfillmentPromiseOut | None:
    """The promise of the quote's fulfillment choice, as the quote understood it (none without one)."""
    if choice is None:
        return None
    needs = _merged(lines)
    if choice.method == "pickup":
        planned = await fulfillment.quote_promise(
            session, now=clock.now(), fulfillment="pickup", lines=needs, pickup_location=choice.location
        )
    else:
        country = (choice.address or {}).get("country")
        planned = await fulfillment.quote_promise(
            session, now=clock.now(), fulfillment="delivery", lines=needs, country=country
        )
    return FulfillmentPromiseOut(
        method=choice.method,
        promised_by=planned.promised_by,
        ready_by=planned.ready_by,
        groups=[
            PromiseGroupOut(
                type=g.type, location=g.location, skus=g.skus, promised_by=g.promised_by, ready_by=g.ready_by
            )
            for g in planned.groups
        ],
        unavailable=planned.unavailable,
    )


def _merged(lines: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """A SKU on two quote lines is one need of sourcing."""
    total: dict[str, int] = {}
    for sku, qty in lines:
        total[sku] = total.get(sku, 0) + qty
    return list(total.items())


async def earliest_delivery(session: AsyncSession, skus: Sequence[str], now: datetime) -> dict[str, date]:
    """Per SKU, the earliest day any active shipping location holding it could deliver (the
    kiosk's "deliverable" size); absent when none holds it."""
    shipping = [loc for loc in await inventory.list_locations(session, ships=True) if loc.active]
    held = await inventory.available_by_location(session, skus, [loc.code for loc in shipping])
    terms = await inventory.promise_terms(session, [loc.code for loc in shipping])
    days = {code: inventory.delivered_by(now, t) for code, t in terms.items()}
    best: dict[str, date] = {}
    for (sku, code), units in held.items():
        if units > 0 and code in days and (sku not in best or days[code] < best[sku]):
            best[sku] = days[code]
    return best


async def pickup_ready_times(session: AsyncSession, codes: Sequence[str], now: datetime) -> dict[str, datetime]:
    """When an order placed now is ready at each of these stores from their own shelves."""
    return {
        code: inventory.pickup_ready_by(now, t) for code, t in (await inventory.promise_terms(session, codes)).items()
    }
