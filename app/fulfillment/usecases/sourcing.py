"""Sourcing: plan with the rules in force, reserve in the order's transaction, write the
fulfillment orders and the explained decision. Re-sourcing (short pick, rejection) uses the
same rules, excluding the locations that failed (`resourcing.py`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.fulfillment import repository, rules
from app.fulfillment.errors import (
    NotSourceable,
    PickupNotOffered,
    StockMoved,
    UnknownLocation,
)
from app.fulfillment.models import SourcingDecision
from app.fulfillment.schemas import (
    CandidateOut,
    DecisionOut,
    ReasonOut,
)
from app.fulfillment.usecases import stock
from app.fulfillment.usecases.common import rules_in_force, start_of_day
from app.fulfillment.usecases.promise import plan_promises
from app.inventory.errors import InsufficientStock

# A concurrent order may take the stock between plan and reserve: plan again, a few times.
MAX_ATTEMPTS = 4


class OrderToSource(msgspec.Struct, frozen=True, kw_only=True):
    """What sourcing needs of an order (orders builds it at placement)."""

    order_id: uuid.UUID
    order_number: str
    # The inventory reservation the order's units go under (`order:<id>`).
    reservation_ref: str
    fulfillment: Literal["delivery", "pickup"]
    # (line_id, sku, quantity); line_id is the order line number as text.
    lines: list[tuple[str, str, int]]
    pickup_location: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    promised_at: datetime | None = None
    pickup_slot_at: datetime | None = None
    # Who to tell when the pickup is ready ({"email", "phone"}): the `pickup_ready` event carries it.
    pickup_contact: dict[str, str] | None = None
    # The delivery address's ISO country: the promise's transit days (README "Delivery promise").
    country: str | None = None


class Sourced(msgspec.Struct, frozen=True, kw_only=True):
    decision_id: int
    split: bool
    summary: str
    # line_id -> [(location, units)]: where each order line's units are reserved or come from.
    line_locations: dict[str, list[tuple[str, int]]]
    fulfillment_order_ids: list[uuid.UUID]
    # What the plan reserves under `reservation_ref`: (sku, location, units). Already
    # reserved, unless `plan_and_reserve` was asked not to (`reserve_planned` then does).
    reservation_ref: str = ""
    units: list[tuple[str, str, int]] = []


# ---- candidates ------------------------------------------------------------------------------


# Today's load of each location (what its daily capacity counts) is a count over today's
# fulfillment orders, which grows with every order placed (0.5 µs a row: 5 ms per placement
# after 10,000 orders). Each process reuses its count for this long. Capacity is a planning
# limit, not a stock invariant, and was never exact under concurrency (placements at the same
# moment all read the same count); the cache widens that window to a second per process.
LOAD_CACHE_SECONDS = 1.0
_load_cache: dict[datetime, tuple[float, dict[str, int]]] = {}


async def todays_load(session: AsyncSession) -> dict[str, int]:
    """Fulfillment orders given to each location today (at most LOAD_CACHE_SECONDS old)."""
    day = start_of_day(clock.now())
    cached = _load_cache.get(day)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    load = await repository.assigned_since(session, day, None)
    _load_cache.clear()
    if LOAD_CACHE_SECONDS > 0:
        _load_cache[day] = (time.monotonic() + LOAD_CACHE_SECONDS, load)
    return load


async def candidates(
    session: AsyncSession,
    skus: Sequence[str],
    serves: Literal["delivery", "pickup"] | None = None,
    pickup_location: str | None = None,
) -> list[rules.Candidate]:
    """The locations that can serve an order of `serves` (None: of either kind) with their
    capabilities, today's load and the SKUs' availability: one query whatever the number of
    locations, plus the load one at most once a second."""
    locations = await stock.sourcing_locations(session, skus, serves, pickup_location)
    today = await todays_load(session)
    return [
        rules.Candidate(
            code=loc.code,
            kind=loc.kind,
            latitude=loc.latitude,
            longitude=loc.longitude,
            ships=loc.ships,
            pickup=loc.pickup,
            active=loc.active,
            daily_capacity=loc.daily_capacity,
            assigned_today=today.get(loc.code, 0),
            stock={sku: rules.StockAt(available=qty) for sku, qty in loc.available.items()},
        )
        for loc in locations
    ]


def make_plan(
    order: OrderToSource,
    pool: list[rules.Candidate],
    current: rules.SourcingRules,
    excluded: Sequence[str] = (),
) -> rules.Plan:
    lines = [rules.PlanLine(line_id, sku, qty) for line_id, sku, qty in order.lines]
    if order.fulfillment == "pickup":
        store = next((c for c in pool if c.code == order.pickup_location), None)
        if store is None:
            raise UnknownLocation(f"no location {order.pickup_location}", field="pickup_location")
        return rules.plan_pickup(lines, store, pool, current)
    to = (
        rules.Point(order.latitude, order.longitude)
        if order.latitude is not None and order.longitude is not None
        else None
    )
    return rules.plan_delivery(lines, pool, current, destination=to, excluded=excluded)


def _not_sourceable(plan: rules.Plan, pool: list[rules.Candidate], order: OrderToSource) -> NotSourceable:
    """409 with what is available where: per SKU `lines=[{sku, requested, available}]` (the
    most one eligible location has) and `available_at={sku: {location: units}}` (the five
    best-stocked eligible locations)."""
    wanted: dict[str, int] = {}
    for _, sku, qty in order.lines:
        wanted[sku] = wanted.get(sku, 0) + qty
    if order.fulfillment == "pickup":
        eligible = [c for c in pool if c.code == order.pickup_location or c.kind == "warehouse"]
    else:
        eligible = [c for c in pool if c.ships and c.active]
    lines = []
    where_by_sku: dict[str, dict[str, int]] = {}
    for sku, qty in sorted(wanted.items()):
        where = sorted(((c.available(sku), c.code) for c in eligible if c.available(sku) > 0), reverse=True)[:5]
        lines.append({"sku": sku, "requested": qty, "available": where[0][0] if where else 0})
        where_by_sku[sku] = {code: n for n, code in where}
    return NotSourceable(plan.summary, lines=lines, available_at=where_by_sku, summary=plan.summary)


def reserved_by_plan(plan: rules.Plan) -> list[tuple[str, str, int]]:
    """(sku, location, units) to reserve now: everything, except pickup lines that arrive
    by ship-to-store (reserved at the warehouse instead, and at the store on arrival)."""
    inbound = {ln.line_id for a in plan.assignments if a.type == "ship_to_store" for ln in a.lines}
    out: list[tuple[str, str, int]] = []
    for a in plan.assignments:
        for ln in a.lines:
            if a.type == "pickup" and ln.line_id in inbound:
                continue
            out.append((ln.sku, a.location_code, ln.quantity))
    return out


# ---- placement ---------------------------------------------------------------------------------


async def plan_and_reserve(
    session: AsyncSession, order: OrderToSource, *, actor: uuid.UUID | None, reserve: bool = True
) -> Sourced:
    """Choose the locations of a new order, reserve its units under `order.reservation_ref`
    and write its fulfillment orders — all in the caller's transaction. When a concurrent
    order takes the stock between plan and reserve, plan again (bounded); never oversell.
    Raises NotSourceable (409 `insufficient_stock`, with what is available where).

    `reserve=False`: plan and write only; the caller reserves with `reserve_planned` as its
    transaction's last step, so the stock rows every order of a best seller wants stay
    locked for the reserve and the commit only. If the stock moved meanwhile that raises
    StockMoved and the caller runs its transaction again (its last attempt should reserve
    here, at once, to get a definite answer)."""
    if order.fulfillment == "pickup" and order.pickup_location is None:
        raise PickupNotOffered("a pickup order needs a pickup_location", field="pickup_location")
    version, current = await rules_in_force(session)
    skus = sorted({sku for _, sku, _ in order.lines})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        pool = await candidates(session, skus, order.fulfillment, order.pickup_location)
        plan = make_plan(order, pool, current)
        if not plan.complete:
            if order.fulfillment == "pickup" and plan.notes and plan.notes[0].reasons[0].code == "no_pickup":
                raise PickupNotOffered(f"{order.pickup_location} does not offer pickup", location=order.pickup_location)
            raise _not_sourceable(plan, pool, order)
        units = reserved_by_plan(plan)
        if reserve:
            try:
                # No savepoint needed: inventory's reserve is all or nothing (a refusal gives
                # back what it took before raising), and a savepoint costs two round trips.
                await stock.reserve(session, order.reservation_ref, units, actor)
            except InsufficientStock:
                continue  # the stock moved under us: look again
        # Each fulfillment order keeps the promise the order was sold with.
        promises = await plan_promises(session, plan, clock.now(), order.country)
        promised = {(g.type, g.location): g.promised_at for g in promises if g.promised_at is not None}
        # A new order has no fulfillment orders yet: number them from 1 without counting.
        decision_id, fos = await write_decision(
            session,
            order,
            plan,
            current,
            version,
            trigger="placement",
            attempts=attempt,
            actor=actor,
            existing=0,
            promised=promised,
        )
        return Sourced(
            decision_id=decision_id,
            split=plan.split,
            summary=plan.summary,
            line_locations=_line_locations(plan),
            fulfillment_order_ids=[fo["id"] for fo in fos],
            reservation_ref=order.reservation_ref,
            units=units,
        )
    raise NotSourceable("the stock kept moving while the order was placed; retry", summary="contention")


async def reserve_planned(session: AsyncSession, sourced: Sourced, actor: uuid.UUID | None) -> None:
    """Reserve what `plan_and_reserve(reserve=False)` planned (inventory locks the stock rows
    in (SKU, location) order); StockMoved when it is no longer there."""
    await _reserve_planned(session, sourced.reservation_ref, sourced.units, actor)


async def _reserve_planned(
    session: AsyncSession, reference: str, units: list[tuple[str, str, int]], actor: uuid.UUID | None
) -> None:
    try:
        await stock.reserve(session, reference, units, actor)
    except InsufficientStock:
        raise StockMoved("the planned stock was taken before the order committed") from None


def _line_locations(plan: rules.Plan) -> dict[str, list[tuple[str, int]]]:
    """Where each line's units are; a pickup's lines are all at the pickup store (some
    arrive there by ship-to-store first)."""
    pickup = [a for a in plan.assignments if a.type == "pickup"]
    out: dict[str, list[tuple[str, int]]] = {}
    for a in pickup or plan.assignments:
        for ln in a.lines:
            out.setdefault(ln.line_id, []).append((a.location_code, ln.quantity))
    return out


def _event_row(
    order_id: uuid.UUID,
    fo_id: uuid.UUID | None,
    kind: str,
    actor: uuid.UUID | None,
    *,
    to_status: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """A fulfillment timeline row, as `common.record` adds it, for the one-statement write."""
    return {
        "order_id": order_id,
        "fulfillment_order_id": fo_id,
        "kind": kind,
        "from_status": None,
        "to_status": to_status,
        "actor_key_id": actor,
        "detail": msgspec.to_builtins(detail),
        "at": clock.now(),
    }


async def write_decision(
    session: AsyncSession,
    order: OrderToSource,
    plan: rules.Plan,
    current: rules.SourcingRules,
    version: int | None,
    *,
    trigger: str,
    attempts: int,
    actor: uuid.UUID | None,
    excluded: Sequence[str] = (),
    existing: int | None = None,
    promised: dict[tuple[str, str], datetime] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Write the explained decision and the fulfillment orders of its assignments (their
    lines holding `order.reservation_ref`), with their timeline rows and `fulfillment.created`
    events, in one statement. `existing`: how many fulfillment orders the order has
    already (counted when None). Returns the decision id and the new fulfillment orders."""
    now = clock.now()
    decision = {
        "order_id": order.order_id,
        "trigger": trigger,
        "rules_version": version,
        "fulfillment": order.fulfillment,
        "pickup_location_code": order.pickup_location,
        "latitude": order.latitude,
        "longitude": order.longitude,
        "excluded": list(excluded),
        "lines": [{"line_id": i, "sku": s, "quantity": q} for i, s, q in order.lines],
        "plan": msgspec.to_builtins(plan),
        "attempts": attempts,
        "created_at": now,
    }
    events = [
        _event_row(order.order_id, None, "sourced", None, trigger=trigger, summary=plan.summary, split=plan.split)
    ]
    fos: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    if plan.assignments:
        n = existing if existing is not None else await repository.count_of_order(session, order.order_id)
        fos, lines = _fulfillment_orders(order, plan, current, n, now, promised or {})
    for fo in fos:
        events.append(
            _event_row(order.order_id, fo["id"], "created", actor, to_status=fo["status"], location=fo["location_code"])
        )
    created = [_created_event(order, fo) for fo in fos]
    decision_id = await repository.write_sourcing(session, decision, fos, lines, events, created)
    return decision_id, fos


def _created_event(order: OrderToSource, fo: dict[str, Any]) -> dict[str, Any]:
    return outbox.event_row(
        "fulfillment.created",
        aggregate_type="fulfillment_order",
        aggregate_id=str(fo["id"]),
        payload={
            "fulfillment_order_id": str(fo["id"]),
            "number": fo["number"],
            "order_id": str(order.order_id),
            "location": fo["location_code"],
            "type": fo["type"],
            "status": fo["status"],
        },
    )


def _fulfillment_orders(
    order: OrderToSource,
    plan: rules.Plan,
    current: rules.SourcingRules,
    n: int,
    now: datetime,
    promised: dict[tuple[str, str], datetime],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the fulfillment orders (numbered from n + 1) and their lines."""
    kinds = {c.location_code: c.kind for c in plan.notes}
    pickup = next((a for a in plan.assignments if a.type == "pickup"), None)
    inbound = {ln.line_id: a.location_code for a in plan.assignments if a.type == "ship_to_store" for ln in a.lines}
    fos: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    pickup_id = uuid.uuid4() if pickup else None
    for a in sorted(plan.assignments, key=lambda a: (a.type != "pickup", a.location_code)):
        n += 1
        fo_id = pickup_id if a.type == "pickup" and pickup_id else uuid.uuid4()
        waiting = a.type == "pickup" and bool(inbound)
        at_store = kinds.get(a.location_code) == "store"
        fos.append(
            {
                "id": fo_id,
                "number": f"{order.order_number}-{n}",
                "order_id": order.order_id,
                "order_number": order.order_number,
                "location_code": a.location_code,
                "type": a.type,
                "status": "awaiting_transfer" if waiting else "created",
                "deliver_to": a.deliver_to,
                "feeds_id": pickup_id if a.type == "ship_to_store" else None,
                "units": sum(ln.quantity for ln in a.lines),
                "promised_at": promised.get((a.type, a.location_code), order.promised_at),
                "pickup_slot_at": order.pickup_slot_at if a.type == "pickup" else None,
                "pickup_contact": order.pickup_contact if a.type == "pickup" else None,
                # Ship-from-store: a store that does not accept in time counts as rejecting.
                "respond_by": now + timedelta(minutes=current.store_response_minutes)
                if a.type == "delivery" and at_store
                else None,
                "code_attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        merged: dict[str, tuple[str, int]] = {}
        for ln in a.lines:
            sku, qty = merged.get(ln.line_id, (ln.sku, 0))
            merged[ln.line_id] = (sku, qty + ln.quantity)
        for line_id, (sku, qty) in merged.items():
            arriving = a.type == "pickup" and line_id in inbound
            lines.append(
                {
                    "fulfillment_order_id": fo_id,
                    "line_id": line_id,
                    "sku": sku,
                    "quantity": qty,
                    "inbound_from": inbound[line_id] if arriving else None,
                    "holds": [] if arriving else [{"ref": order.reservation_ref, "qty": qty}],
                    "picked_quantity": 0,
                    "short_quantity": 0,
                }
            )
    return fos, lines


def decision_out(d: SourcingDecision) -> DecisionOut:
    plan = d.plan
    return DecisionOut(
        id=d.id,
        order_id=d.order_id,
        trigger=d.trigger,
        rules_version=d.rules_version,
        split=bool(plan.get("split")),
        summary=str(plan.get("summary", "")),
        assignments=list(plan.get("assignments", [])),
        unserved=list(plan.get("unserved", [])),
        candidates=[
            CandidateOut(
                location_code=n["location_code"],
                kind=n["kind"],
                outcome=n["outcome"],
                distance_km=n.get("distance_km"),
                cost=n.get("cost"),
                reasons=[ReasonOut(code=r["code"], detail=r["detail"]) for r in n.get("reasons", [])],
            )
            for n in plan.get("notes", [])
        ],
        skipped_counts=dict(plan.get("skipped_counts", {})),
        created_at=d.created_at,
    )
