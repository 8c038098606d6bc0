"""Fulfillment progress that changes the order: ship, a carrier's delivery, collect at the
counter, a store's rejection (and its timeout), a pick list's confirmation with short picks,
an uncollected pickup's expiry.

Transaction boundary: the caller's (the request's `db_session`, or the job's transaction
per fulfillment order); nothing here commits. Nothing outside the database is touched (card
captures and releases are made by orders' settle job after the commit).

Lock order, in every flow here: the order row(s) (`orders.lock_orders`, by id) → the
fulfillment orders (the fulfillment step locks them) → the stock rows (inventory, in (SKU,
location) order) — the same order as a cancellation's (app/flows/cancel_order.py), so a
ship and a cancel of the same order wait for each other instead of deadlocking.

Each fulfillment step writes its own rows and returns, in `OrderNews`, what its order must
record; `tell_orders` then applies that to the order in the same transaction: units shipped
or collected (the card capture, partially_fulfilled / fulfilled), every unit delivered so far
(cash or card on delivery), units nobody can serve (cancelled and refunded — their stock is
released already). An order whose every unit reached the customer is completed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.flows.cancel_order import finish_cancel
from app.fulfillment import service as fulfillment
from app.fulfillment.schemas import (
    CarrierEventBody,
    CarrierEventOut,
    CollectBody,
    FoundLine,
    FulfillmentOrderOut,
    ParcelScan,
    PickListOut,
)
from app.orders import service as orders
from app.orders.schemas import CancelLine


async def ship(session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    """The parcels leave: the reservation is consumed, the card captured for the lines."""
    await orders.lock_orders(session, [await fulfillment.order_of(session, fo_id)])
    news = fulfillment.OrderNews()
    shipped = await fulfillment.ship(session, principal, fo_id, news=news)
    await tell_orders(session, news)
    return shipped


async def carrier_event(session: AsyncSession, body: CarrierEventBody) -> CarrierEventOut:
    """A carrier's tracking update; the last parcel delivered takes cash/card on delivery."""
    order_id = await fulfillment.order_of_parcel(session, body.carrier, body.tracking_number)
    if order_id is not None:  # else fulfillment answers 404 unknown_parcel
        await orders.lock_orders(session, [order_id])
    news = fulfillment.OrderNews()
    out = await fulfillment.carrier_event(session, body, news=news)
    await tell_orders(session, news)
    return out


async def receive_parcel(session: AsyncSession, principal: Principal, scan: ParcelScan) -> CarrierEventOut:
    """A store scans a ship-to-store parcel in at its back door: its carrier's "delivered"."""
    return await carrier_event(session, await fulfillment.parcel_bound_for(session, principal, scan))


async def collect(
    session: AsyncSession, principal: Principal, fo_id: uuid.UUID, body: CollectBody
) -> FulfillmentOrderOut:
    """Handed over at the counter against the pickup code, or the order number with the
    customer's card or phone (orders tells whether they are the order's customer's). A wrong
    answer raises fulfillment's CodeRefused after counting it: the caller commits and answers."""
    order_id = await fulfillment.order_of(session, fo_id)
    await orders.lock_orders(session, [order_id])
    presents = body.code is None and await orders.customer_presents(
        session, order_id, body.order_number or "", card_number=body.card_number, phone=body.phone
    )
    news = fulfillment.OrderNews()
    collected = await fulfillment.collect(session, principal, fo_id, body, customer_presents=presents, news=news)
    await tell_orders(session, news)
    return collected


async def reject(
    session: AsyncSession, principal: Principal, fo_id: uuid.UUID, reason: str, note: str | None
) -> FulfillmentOrderOut:
    """A store refuses it: the lines are re-sourced elsewhere or cancelled; the order's
    timeline says who rejected what, why, and where it went."""
    await orders.lock_orders(session, [await fulfillment.order_of(session, fo_id)])
    news = fulfillment.OrderNews()
    rejected = await fulfillment.reject(session, principal, fo_id, reason, note, news=news)
    await orders.note_on_timeline(
        session, rejected.order_id, "fulfillment_rejected", principal, fulfillment.rejection_note(rejected)
    )
    await tell_orders(session, news)
    return rejected


async def confirm_pick_list(
    session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID, found: list[FoundLine]
) -> PickListOut:
    """The units found per SKU; short picks are released, counted and re-sourced (or
    cancelled). The walk's orders are locked first: a short pick may cancel units of an
    order whose customer is cancelling right now."""
    await orders.lock_orders(session, await fulfillment.orders_of_pick_list(session, pick_list_id))
    news = fulfillment.OrderNews()
    confirmed = await fulfillment.confirm(session, principal, pick_list_id, found, news=news)
    await tell_orders(session, news)
    return confirmed


async def reject_overdue(session: AsyncSession, limit: int = 100) -> int:
    """Stores that did not accept in time count as rejecting (the
    `fulfillment.store_timeouts` job); how many were looked at."""
    fo_ids = await fulfillment.overdue_store_responses(session, limit)
    for fo_id in fo_ids:
        await orders.lock_orders(session, [await fulfillment.order_of(session, fo_id)])
        news = fulfillment.OrderNews()
        rejected = await fulfillment.reject_if_overdue(session, fo_id, news=news)
        if rejected is not None:
            note = fulfillment.rejection_note(rejected)
            await orders.note_on_timeline(session, rejected.order_id, "fulfillment_rejected", None, note)
        await tell_orders(session, news)
    return len(fo_ids)


async def expire_pickups(session: AsyncSession, limit: int = 100) -> int:
    """Ready pickups not collected in time: cancelled, the goods back in the store's
    available stock, the payment voided (the `fulfillment.expire_pickups` job)."""
    fo_ids = await fulfillment.expired_pickups(session, limit)
    for fo_id in fo_ids:
        await orders.lock_orders(session, [await fulfillment.order_of(session, fo_id)])
        news = fulfillment.OrderNews()
        await fulfillment.expire_pickup(session, fo_id, news=news)
        await tell_orders(session, news)
    return len(fo_ids)


async def tell_orders(session: AsyncSession, news: fulfillment.OrderNews, actor: Principal | None = None) -> None:
    """Apply what fulfillment did to the orders it did it to (their rows are locked); `actor`:
    who made it happen, when not the carrier or a job (a till the customer presented goods at)."""
    for item in news.items:
        if item.kind in ("shipped", "collected"):
            await orders.record_fulfillment_progress(session, item.order_id, item.lines, event=f"lines_{item.kind}")
        elif item.kind == "delivered":
            await orders.record_delivery(session, item.order_id, item.lines, actor, how=item.reason)
        else:
            await _cancelled(session, item.order_id, item.lines, item.reason or "not available")
            continue
        if item.kind != "shipped":
            await _complete_if_handed_over(session, item.order_id)


async def _cancelled(session: AsyncSession, order_id: uuid.UUID, lines: dict[int, int], reason: str) -> None:
    """Units nobody can serve: cancelled and refunded; fulfillment released their stock."""
    wanted: Sequence[CancelLine] = [CancelLine(line_no=no, quantity=qty) for no, qty in sorted(lines.items())]
    cancellation = await orders.start_cancel(session, None, order_id, reason, wanted)
    await finish_cancel(session, cancellation, set(lines))


async def _complete_if_handed_over(session: AsyncSession, order_id: uuid.UUID) -> None:
    if await fulfillment.order_handed_over(session, order_id) and await orders.is_fulfilled(session, order_id):
        await orders.complete(session, order_id)
