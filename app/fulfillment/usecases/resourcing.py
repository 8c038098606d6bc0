"""Re-sourcing: lines a location could not serve (a rejection, a short pick) go to other
locations by the same rules, excluding every location that failed the order — or are
cancelled (in `OrderNews`: the flow tells the order)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment import repository, rules
from app.fulfillment.models import FulfillmentOrder
from app.fulfillment.usecases import stock
from app.fulfillment.usecases.common import OrderNews, record, rules_in_force, tell_orders
from app.fulfillment.usecases.sourcing import (
    MAX_ATTEMPTS,
    OrderToSource,
    candidates,
    make_plan,
    reserved_by_plan,
    write_decision,
)
from app.inventory.errors import InsufficientStock


async def resource_lines(
    session: AsyncSession,
    failed: FulfillmentOrder,
    lines: Sequence[tuple[str, str, int]],
    *,
    trigger: str,
    actor: uuid.UUID | None,
    news: OrderNews,
) -> rules.Plan | None:
    """Serve `lines` (line_id, sku, units) of `failed`'s order from other locations by the
    same rules, excluding every location that failed this order; after the rules' max
    rejections, or when nothing can serve them, they are cancelled (in `news`: the order
    cancels and refunds them).
    Pickups are not re-sourced: their lines are cancelled (the customer chose that store)."""
    if not lines:
        return None
    version, current = await rules_in_force(session)
    history = await repository.fulfillment_orders_of(session, failed.order_id)
    excluded = sorted({fo.location_code for fo in history if fo.status == "rejected"} | {failed.location_code})
    rejections = sum(1 for fo in history if fo.status == "rejected")
    placement = next(iter(await repository.decisions_of(session, failed.order_id)), None)
    order = OrderToSource(
        order_id=failed.order_id,
        order_number=failed.order_number,
        reservation_ref=f"resource:{uuid.uuid4()}",
        fulfillment="delivery",
        lines=list(lines),
        latitude=placement.latitude if placement else None,
        longitude=placement.longitude if placement else None,
        promised_at=failed.promised_at,
    )
    if failed.type != "delivery":
        await _cancel(session, news, failed, lines, "pickup lines are not re-sourced", actor)
        return None
    if rejections >= current.max_rejections:
        await _cancel(session, news, failed, lines, f"rejected {rejections} times", actor)
        return None
    skus = sorted({sku for _, sku, _ in lines})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        pool = await candidates(session, skus, order.fulfillment)
        plan = make_plan(order, pool, current, excluded)
        served = [a for a in plan.assignments]
        if served:
            try:
                async with session.begin_nested():
                    await stock.reserve(session, order.reservation_ref, reserved_by_plan(plan), actor)
            except InsufficientStock:
                continue
        _, fos = await write_decision(
            session, order, plan, current, version, trigger=trigger, attempts=attempt, actor=actor, excluded=excluded
        )
        if served:
            record(
                session,
                failed,
                failed.order_id,
                "re_sourced",
                actor,
                to=[fo["number"] for fo in fos],
                fulfillment_orders=[str(fo["id"]) for fo in fos],
                summary=plan.summary,
            )
        if plan.unserved:
            unserved = [(ln.line_id, ln.sku, ln.quantity) for ln in plan.unserved]
            await _cancel(session, news, failed, unserved, plan.summary, actor)
        return plan
    await _cancel(session, news, failed, lines, "the stock kept moving", actor)
    return None


async def _cancel(
    session: AsyncSession,
    news: OrderNews,
    failed: FulfillmentOrder,
    lines: Sequence[tuple[str, str, int]],
    why: str,
    actor: uuid.UUID | None,
) -> None:
    record(
        session,
        failed,
        failed.order_id,
        "lines_cancelled",
        actor,
        reason=why,
        lines=[{"line_id": i, "sku": s, "quantity": q} for i, s, q in lines],
    )
    await tell_orders(
        session, news, failed.order_id, "cancelled", [(i, q) for i, _, q in lines], actor=actor, reason=why
    )
