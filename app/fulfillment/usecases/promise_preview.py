"""What a quote shows of the delivery promise: the plan an order would get now, previewed
with placement's rules and stock (nothing reserved or written), and each group's promise."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment.usecases.common import rules_in_force
from app.fulfillment.usecases.promise import PlanPromise, plan_promises
from app.fulfillment.usecases.sourcing import OrderToSource, candidates, make_plan

# A preview's order has no id; sourcing needs one to describe it.
_PREVIEW = uuid.UUID(int=0)


async def quote_promise(
    session: AsyncSession,
    *,
    now: datetime,
    fulfillment: Literal["delivery", "pickup"],
    lines: Sequence[tuple[str, int]],
    pickup_location: str | None = None,
    country: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> PlanPromise:
    """The promise of the plan an order of `lines` ((sku, quantity)) would get now: the same
    rules and stock as placement, nothing reserved or written. A pickup store that does not
    exist or offers no pickup promises nothing (the order itself would be refused)."""
    order = OrderToSource(
        order_id=_PREVIEW,
        order_number="quote",
        reservation_ref="quote",
        fulfillment=fulfillment,
        lines=[(str(n), sku, qty) for n, (sku, qty) in enumerate(lines, 1)],
        pickup_location=pickup_location,
        latitude=latitude,
        longitude=longitude,
    )
    _, current = await rules_in_force(session)
    pool = await candidates(session, sorted({sku for sku, _ in lines}), fulfillment, pickup_location)
    if fulfillment == "pickup" and not any(c.code == pickup_location and c.pickup for c in pool):
        return PlanPromise(groups=[], unavailable=sorted({sku for sku, _ in lines}))
    plan = make_plan(order, pool, current)
    groups = await plan_promises(session, plan, now, country)
    return PlanPromise(groups=groups, unavailable=sorted({line.sku for line in plan.unserved}))
