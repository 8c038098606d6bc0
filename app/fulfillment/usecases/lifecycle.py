"""A fulfillment order's life after sourcing: accept/reject (ship-from-store), pack, ship,
delivered (carrier webhook), ready for pickup, collect, expire."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.core.pagination import Keyset, Page
from app.fulfillment import repository, rules
from app.fulfillment.errors import TrackingNumberTaken, UnknownParcel
from app.fulfillment.models import FulfillmentOrder, Parcel
from app.fulfillment.schemas import (
    CarrierEventBody,
    CarrierEventOut,
    FulfillmentEventOut,
    FulfillmentOrderOut,
    OrderFulfillmentOut,
    PackBody,
    RejectedLineOut,
    RejectionOut,
    WentToOut,
)
from app.fulfillment.usecases import stock
from app.fulfillment.usecases.common import (
    OrderNews,
    fo_out,
    fo_view,
    load,
    move,
    record,
    release_held,
    require_location,
    rules_in_force,
    stock_lines,
    tell_orders,
    transition,
)
from app.fulfillment.usecases.resourcing import resource_lines
from app.fulfillment.usecases.sourcing import decision_out

FULFILLMENT_ORDERS = Keyset("fulfillment_orders", datetime, uuid.UUID)

# ---- reading -----------------------------------------------------------------------------------


async def get_fulfillment_order(session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    fo = await load(session, fo_id, lock=False)
    require_location(principal, fo)
    return await view_with_rejection(session, fo)


async def view_with_rejection(session: AsyncSession, fo: FulfillmentOrder) -> FulfillmentOrderOut:
    """The fulfillment order's view; a rejected one says where its lines went."""
    return msgspec.structs.replace(await fo_view(session, fo), rejection=await rejection(session, fo))


async def list_fulfillment_orders(
    session: AsyncSession,
    principal: Principal,
    *,
    location_code: str | None,
    status: str | None,
    order_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[FulfillmentOrderOut]:
    """Location-bound keys list their own location only, whatever they ask for."""
    if principal.location_code is not None:
        location_code = principal.location_code
    after = FULFILLMENT_ORDERS.after(cursor)
    key = (after[0], after[1]) if after else None
    rows = await repository.list_fulfillment_orders(
        session, location_code=location_code, status=status, order_id=order_id, after=key, limit=limit
    )
    lines = await repository.lines_of(session, [fo.id for fo in rows])
    parcels = await repository.parcels_of(session, [fo.id for fo in rows])
    by_fo: dict[uuid.UUID, list[Parcel]] = {}
    for p in parcels:
        by_fo.setdefault(p.fulfillment_order_id, []).append(p)
    _, current = await rules_in_force(session)
    out = [fo_out(fo, lines[fo.id], by_fo.get(fo.id, []), current.pickup_max_attempts) for fo in rows]
    return FULFILLMENT_ORDERS.page(out, limit, lambda o: [o.created_at, o.id])


async def order_fulfillment(session: AsyncSession, order_id: uuid.UUID) -> OrderFulfillmentOut:
    """Everything fulfillment knows of one order: its fulfillment orders, each sourcing
    decision with the candidates considered, and what happened (for the contact center)."""
    fos = await repository.fulfillment_orders_of(session, order_id)
    lines = await repository.lines_of(session, [fo.id for fo in fos])
    parcels = await repository.parcels_of(session, [fo.id for fo in fos])
    by_fo: dict[uuid.UUID, list[Parcel]] = {}
    for p in parcels:
        by_fo.setdefault(p.fulfillment_order_id, []).append(p)
    _, current = await rules_in_force(session)
    return OrderFulfillmentOut(
        order_id=order_id,
        fulfillment_orders=[fo_out(fo, lines[fo.id], by_fo.get(fo.id, []), current.pickup_max_attempts) for fo in fos],
        decisions=[decision_out(d) for d in await repository.decisions_of(session, order_id)],
        events=[
            FulfillmentEventOut(
                kind=e.kind,
                fulfillment_order_id=e.fulfillment_order_id,
                from_status=e.from_status,
                to_status=e.to_status,
                detail=e.detail,
                at=e.at,
            )
            for e in await repository.events_of(session, order_id)
        ],
    )


@dataclass(frozen=True)
class HandedOver:
    """Units of one order line that one fulfillment order delivered to the door or handed over
    at a store, and when (the last parcel's delivery, or the collection)."""

    line_id: str
    quantity: int
    at: datetime


async def delivered_lines(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[HandedOver]]:
    """What reached the customer of each of `order_ids`, in one statement whatever their number
    (returns' customer look-up scans many orders): the picked units of delivered `delivery`
    and collected `pickup` fulfillment orders. Ship-to-store legs are not deliveries: their
    pickup is. An order with nothing handed over is absent."""
    out: dict[uuid.UUID, list[HandedOver]] = {}
    for row in await repository.handed_over_lines(session, order_ids):
        out.setdefault(row.order_id, []).append(HandedOver(row.line_id, int(row.picked_quantity), row.at))
    return out


async def order_handed_over(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Every fulfillment order of the order is finished (delivered, collected, cancelled,
    rejected, expired): nothing is on its way any more. False for an order fulfillment never
    sourced (it knows nothing of it)."""
    fos = await repository.fulfillment_orders_of(session, order_id)
    return bool(fos) and all(fo.status in rules.TERMINAL for fo in fos)


# ---- ship-from-store: accept / reject ------------------------------------------------------------


async def accept(session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    fo = await load(session, fo_id)
    require_location(principal, fo)
    await move(session, fo, "accept", principal.key_id)
    fo.respond_by = None
    return await fo_view(session, fo)


async def reject(
    session: AsyncSession,
    principal: Principal | None,
    fo_id: uuid.UUID,
    reason: str,
    note: str | None = None,
    *,
    news: OrderNews,
) -> FulfillmentOrderOut:
    """The location will not ship it. The reason drives the stock correction (not found: the
    SKU's available quantity there is counted down to 0; damaged: the units are written off;
    no staff / timeout: none); the location is excluded for this order and the lines are
    re-sourced by the same rules (or cancelled and refunded after K rejections: in `news`).
    The caller holds the order's row lock."""
    fo = await load(session, fo_id)
    if principal is not None:
        require_location(principal, fo)
    actor = principal.key_id if principal else None
    transition(fo, "reject")
    lines = (await repository.lines_of(session, [fo.id]))[fo.id]
    await release_held(session, fo, lines, actor)
    correction = rules.REJECT_REASONS.get(reason)
    units = {ln.sku: ln.quantity for ln in lines}
    ref = f"fulfillment:{fo.number}:rejected"
    if correction == "count_zero":
        found = await stock.available(session, sorted(units), [fo.location_code])
        await stock.count_missing(
            session, fo.location_code, dict(found.get(fo.location_code, {})), reference=ref, actor=actor
        )
    elif correction == "damage":
        await stock.write_off(session, fo.location_code, units, reference=ref, actor=actor)
    fo.reject_reason = reason
    fo.respond_by = None
    await move(session, fo, "reject", actor, reason=reason, note=note, who=principal.name if principal else None)
    await session.flush()
    await resource_lines(
        session,
        fo,
        [(ln.line_id, ln.sku, ln.quantity) for ln in lines],
        trigger="timeout" if reason == "timeout" else "rejection",
        actor=actor,
        news=news,
    )
    return await view_with_rejection(session, fo)


async def rejection(session: AsyncSession, fo: FulfillmentOrder) -> RejectionOut | None:
    """Why, by whom and where a rejected fulfillment order's lines went (from its record)."""
    if fo.status != "rejected":
        return None
    await session.flush()  # the re-sourcing's records of this request (sessions do not autoflush)
    events = await repository.events_of_fulfillment_order(
        session, fo.order_id, fo.id, ["reject", "re_sourced", "lines_cancelled"]
    )
    rejected = next((e for e in events if e.kind == "reject"), None)
    if rejected is None:
        return None
    ids = [uuid.UUID(i) for e in events if e.kind == "re_sourced" for i in e.detail.get("fulfillment_orders", [])]
    went = [
        WentToOut(fulfillment_order_id=f.id, number=f.number, location_code=f.location_code, status=f.status)
        for f in sorted((await repository.fulfillment_orders_by_id(session, ids)).values(), key=lambda f: f.number)
    ]
    cancelled = [
        RejectedLineOut(line_id=str(ln["line_id"]), sku=str(ln["sku"]), quantity=int(ln["quantity"]))
        for e in events
        if e.kind == "lines_cancelled"
        for ln in e.detail.get("lines", [])
    ]
    return RejectionOut(
        reason=str(rejected.detail.get("reason")),
        note=rejected.detail.get("note"),
        rejected_by=rejected.detail.get("by") or ("timeout" if rejected.detail.get("reason") == "timeout" else None),
        at=rejected.at,
        went_to=went,
        cancelled=cancelled,
        outcome=rules.rejection_outcome(
            [(w.number, w.location_code) for w in went],
            sum(c.quantity for c in cancelled),
            next((str(e.detail.get("reason")) for e in events if e.kind == "lines_cancelled"), None),
        ),
    )


async def overdue_store_responses(session: AsyncSession, limit: int = 100) -> list[uuid.UUID]:
    """Ship-from-store orders whose store did not accept in time (up to `limit`)."""
    return list(await repository.overdue_store_responses(session, clock.now(), limit))


async def reject_if_overdue(session: AsyncSession, fo_id: uuid.UUID, *, news: OrderNews) -> FulfillmentOrderOut | None:
    """A store that did not accept in time counts as rejecting (re-checked under the lock;
    the caller holds the order's row lock). The rejected fulfillment order, or None."""
    fo = await load(session, fo_id)
    if fo.status == "created" and fo.respond_by is not None and fo.respond_by <= clock.now():
        return await reject(session, None, fo_id, "timeout", news=news)
    return None


def rejection_note(rejected: FulfillmentOrderOut) -> dict[str, Any]:
    """What the order's timeline says of a rejection: which fulfillment order, where, who,
    why, what, and where it went."""
    r = rejected.rejection
    lines = [{"line_no": int(ln.line_id), "sku": ln.sku, "quantity": ln.quantity} for ln in rejected.lines]
    return {
        "fulfillment_order": rejected.number,
        "location": rejected.location_code,
        "reason": r.reason if r else rejected.reject_reason,
        "note": r.note if r else None,
        "by": r.rejected_by if r else None,
        "lines": lines,
        "went_to": [{"fulfillment_order": w.number, "location": w.location_code} for w in r.went_to] if r else [],
        "outcome": r.outcome if r else None,
    }


# ---- pack, ship, deliver -----------------------------------------------------------------------------


async def pack(session: AsyncSession, principal: Principal, fo_id: uuid.UUID, body: PackBody) -> FulfillmentOrderOut:
    fo = await load(session, fo_id)
    require_location(principal, fo)
    transition(fo, "pack")
    pairs = [(p.carrier, p.tracking_number) for p in body.parcels]
    if len(set(pairs)) != len(pairs) or await repository.tracking_taken(session, pairs):
        raise TrackingNumberTaken(
            "a tracking number appears twice or is already used", parcels=[list(p) for p in pairs]
        )
    now = clock.now()
    await repository.add_parcels(
        session,
        [
            Parcel(
                fulfillment_order_id=fo.id,
                carrier=p.carrier,
                tracking_number=p.tracking_number,
                contents=[],
                weight_grams=p.weight_grams,
                created_at=now,
            )
            for p in body.parcels
        ],
    )
    await move(session, fo, "pack", principal.key_id, parcels=len(body.parcels))
    return await fo_view(session, fo)


async def ship(
    session: AsyncSession, principal: Principal, fo_id: uuid.UUID, *, news: OrderNews
) -> FulfillmentOrderOut:
    """The parcels leave: the reservation is consumed (a `sale` in the ledger); the shipped
    lines go into `news` (the order captures the card for them). A ship-to-store parcel
    becomes a dispatched transfer. The caller holds the order's row lock."""
    fo = await load(session, fo_id)
    require_location(principal, fo)
    transition(fo, "ship")
    lines = (await repository.lines_of(session, [fo.id]))[fo.id]
    shipped = {ln.line_id: ln.picked_quantity for ln in lines if ln.picked_quantity}
    if fo.type == "ship_to_store":
        await release_held(session, fo, lines, principal.key_id)
        assert fo.deliver_to is not None
        fo.transfer_id = await stock.ship_to_store(
            session,
            from_location=fo.location_code,
            to_location=fo.deliver_to,
            lines=[(ln.sku, ln.picked_quantity) for ln in lines if ln.picked_quantity],
            note=f"ship-to-store for {fo.order_number}",
            actor=principal.key_id,
        )
    else:
        for ref, held in stock_lines(fo, lines).items():
            await stock.consume(session, ref, held, principal.key_id, f"fulfillment:{fo.number}")
        for ln in lines:
            ln.holds = []
        await tell_orders(session, news, fo.order_id, "shipped", list(shipped.items()), actor=principal.key_id)
    await move(session, fo, "ship", principal.key_id)
    return await fo_view(session, fo)


async def order_of_parcel(session: AsyncSession, carrier: str, tracking_number: str) -> uuid.UUID | None:
    """The order whose parcel this is (None: no such parcel)."""
    parcel = await repository.parcel_by_tracking(session, carrier, tracking_number)
    if parcel is None:
        return None
    fo = await repository.fulfillment_order(session, parcel.fulfillment_order_id)
    return fo.order_id if fo is not None else None


async def carrier_event(session: AsyncSession, body: CarrierEventBody, *, news: OrderNews) -> CarrierEventOut:
    """A carrier's tracking update (at least once: a repeated event id changes nothing).
    `delivered` on the last parcel completes the fulfillment order (and puts every unit of
    the order delivered so far into `news`); a ship-to-store parcel delivered at the store is
    received there and reserved for the pickup it feeds. The caller holds the order's row
    lock (`order_of_parcel`)."""
    now = clock.now()
    fresh = await repository.claim_carrier_event(
        session,
        {
            "carrier": body.carrier,
            "event_id": body.event_id,
            "tracking_number": body.tracking_number,
            "status": body.status,
            "received_at": now,
        },
    )
    parcel = await repository.parcel_by_tracking(session, body.carrier, body.tracking_number)
    if parcel is None:
        raise UnknownParcel(f"no parcel {body.carrier} {body.tracking_number}")
    if not fresh:
        return CarrierEventOut(duplicate=True, fulfillment_order_id=parcel.fulfillment_order_id, status=None)
    fo = await load(session, parcel.fulfillment_order_id)
    if body.status == "delivered" and parcel.delivered_at is None:
        parcel.delivered_at = body.occurred_at or now
        await session.flush()
        parcels = await repository.parcels_of(session, [fo.id])
        if fo.status == "shipped" and all(p.delivered_at is not None for p in parcels):
            await move(session, fo, "deliver", None, carrier=body.carrier)
            if fo.type == "ship_to_store":
                await _arrived_at_store(session, fo)
            else:
                await delivered_so_far(session, news, fo.order_id)
    else:
        record(session, fo, fo.order_id, f"carrier_{body.status}", None, tracking=body.tracking_number)
    return CarrierEventOut(duplicate=False, fulfillment_order_id=fo.id, status=fo.status)


async def delivered_so_far(
    session: AsyncSession, news: OrderNews, order_id: uuid.UUID, *, how: str | None = None
) -> None:
    """Cash/card on delivery is taken at the door: orders learns every unit delivered so far
    (and `how`, when it was not the carrier who said so)."""
    fos = await repository.fulfillment_orders_of(session, order_id)
    handed_over = [fo.id for fo in fos if fo.type == "delivery" and fo.status == "delivered"]
    delivered: dict[str, int] = {}
    for lines in (await repository.lines_of(session, handed_over)).values():
        for ln in lines:
            delivered[ln.line_id] = delivered.get(ln.line_id, 0) + ln.picked_quantity
    news.add(order_id, "delivered", {int(k): v for k, v in delivered.items()}, reason=how)


async def _arrived_at_store(session: AsyncSession, inbound: FulfillmentOrder) -> None:
    """The ship-to-store parcel is at the store: receive the transfer, reserve the units for
    the pickup, and open the pickup for picking once everything it waits for is there."""
    if inbound.transfer_id is not None:
        await stock.receive_transfer(session, inbound.transfer_id, None)
    if inbound.feeds_id is None:
        return
    pickup = await load(session, inbound.feeds_id)
    inbound_lines = (await repository.lines_of(session, [inbound.id]))[inbound.id]
    pickup_lines = {ln.line_id: ln for ln in (await repository.lines_of(session, [pickup.id]))[pickup.id]}
    ref = f"fulfillment:{pickup.number}:arrived:{inbound.number}"
    arrived = [(ln.sku, pickup.location_code, ln.picked_quantity) for ln in inbound_lines if ln.picked_quantity]
    # Units that arrived for a named order are that order's, whatever the store's safety stock.
    await stock.reserve(session, ref, arrived, None, beyond_safety_stock=True)
    for ln in inbound_lines:
        target = pickup_lines.get(ln.line_id)
        if target is not None and ln.picked_quantity:
            target.holds = [*target.holds, {"ref": ref, "qty": ln.picked_quantity}]
    waiting = [ln for ln in pickup_lines.values() if ln.inbound_from and sum(h["qty"] for h in ln.holds) < ln.quantity]
    if pickup.status == "awaiting_transfer" and not waiting:
        await move(session, pickup, "transfer_arrived", None)
