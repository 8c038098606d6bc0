"""Pieces every fulfillment use case shares: the rules in force, response shapes, the
fulfillment timeline, and the news for orders (`OrderNews`: what a step did to its orders'
lines; the flow above both domains tells orders, app/flows/fulfillment_progress.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal
from app.fulfillment import repository, rules
from app.fulfillment.errors import FulfillmentInvalidTransition, FulfillmentOrderNotFound
from app.fulfillment.models import FulfillmentEvent, FulfillmentOrder, FulfillmentOrderLine, Parcel
from app.fulfillment.schemas import FulfillmentLineOut, FulfillmentOrderOut, ParcelOut
from app.fulfillment.usecases import stock

# Rules by their JSON text: validating them is the same work for every order under one
# version. Keyed by the text, not the version number, because a number can come back with
# other rules (a rolled-back or emptied table).
_parsed_rules: dict[str, rules.SourcingRules] = {}
PARSED_RULES_KEPT = 16


async def rules_in_force(session: AsyncSession) -> tuple[int | None, rules.SourcingRules]:
    """The newest rule version, or the documented defaults when none was ever saved."""
    row = await repository.latest_rules(session)
    if row is None:
        return None, rules.SourcingRules()
    version, text = row
    parsed = _parsed_rules.get(text)
    if parsed is None:
        parsed = msgspec.convert(msgspec.json.decode(text), rules.SourcingRules)
        if len(_parsed_rules) >= PARSED_RULES_KEPT:
            _parsed_rules.clear()
        _parsed_rules[text] = parsed
    return version, parsed


def transition(fo: FulfillmentOrder, action: str) -> str:
    try:
        return rules.next_status(fo.status, action, fo.type)
    except rules.TransitionRefused as exc:
        raise FulfillmentInvalidTransition(str(exc), from_status=fo.status, action=action, type=fo.type) from None


async def load(session: AsyncSession, fo_id: uuid.UUID, *, lock: bool = True) -> FulfillmentOrder:
    fo = await repository.fulfillment_order(session, fo_id, lock=lock)
    if fo is None:
        raise FulfillmentOrderNotFound(f"no fulfillment order {fo_id}")
    return fo


async def order_of(session: AsyncSession, fo_id: uuid.UUID) -> uuid.UUID:
    """The order a fulfillment order serves (read without a lock: it never changes). A flow
    locks that order's row before the fulfillment order's (see `app/flows/__init__.py`)."""
    fo = await repository.fulfillment_order(session, fo_id)
    if fo is None:
        raise FulfillmentOrderNotFound(f"no fulfillment order {fo_id}")
    return fo.order_id


def require_location(principal: Principal, fo: FulfillmentOrder) -> None:
    """Location-bound keys (logistics, POS) see and act on their own location's work only.
    An unknown id and another location's id answer the same 404: nothing leaks."""
    if principal.location_code is not None and principal.location_code != fo.location_code:
        raise FulfillmentOrderNotFound(f"no fulfillment order {fo.id}")


def record(
    session: AsyncSession,
    fo: FulfillmentOrder | None,
    order_id: uuid.UUID,
    kind: str,
    principal_key: uuid.UUID | None,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    **detail: Any,
) -> None:
    repository.add_event(
        session,
        FulfillmentEvent(
            order_id=order_id,
            fulfillment_order_id=fo.id if fo else None,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            actor_key_id=principal_key,
            detail=msgspec.to_builtins(detail),
            at=clock.now(),
        ),
    )


async def move(
    session: AsyncSession,
    fo: FulfillmentOrder,
    action: str,
    actor: uuid.UUID | None,
    *,
    flush: bool = True,
    who: str | None = None,
    **detail: Any,
) -> str:
    """Apply a state-machine action to a locked FO and record it. `who`: the actor's name, on
    fulfillment's own record only (never in the published event)."""
    before = fo.status
    fo.status = transition(fo, action)
    fo.updated_at = clock.now()
    if fo.status in rules.TERMINAL:
        fo.closed_at = fo.updated_at
    named = {"by": who} if who else {}
    record(session, fo, fo.order_id, action, actor, from_status=before, to_status=fo.status, **detail, **named)
    # Flushed now: a later locked (populate_existing) read of this row must see the change.
    # A batch of moves (a pick list) passes flush=False and flushes once at the end.
    if flush:
        await session.flush()
    await outbox.record(
        session,
        f"fulfillment.{fo.status}",
        aggregate_type="fulfillment_order",
        aggregate_id=str(fo.id),
        payload={
            "fulfillment_order_id": str(fo.id),
            "number": fo.number,
            "order_id": str(fo.order_id),
            "order_number": fo.order_number,
            "location": fo.location_code,
            "type": fo.type,
            "from_status": before,
            "status": fo.status,
            **detail,
        },
    )
    return fo.status


def stock_lines(fo: FulfillmentOrder, lines: Sequence[FulfillmentOrderLine]) -> dict[str, list[tuple[str, str, int]]]:
    """reservation reference -> (sku, location, units) held for these lines."""
    out: dict[str, list[tuple[str, str, int]]] = {}
    for line in lines:
        for hold in line.holds:
            if hold["qty"] > 0:
                out.setdefault(hold["ref"], []).append((line.sku, fo.location_code, int(hold["qty"])))
    return out


def take_from_holds(line: FulfillmentOrderLine, units: int) -> list[tuple[str, int]]:
    """Remove `units` from the line's holds (first hold first); returns (ref, units) taken."""
    taken: list[tuple[str, int]] = []
    left = units
    holds: list[dict[str, Any]] = []
    for hold in line.holds:
        take = min(left, int(hold["qty"]))
        left -= take
        if take:
            taken.append((hold["ref"], take))
        if hold["qty"] - take > 0:
            holds.append({"ref": hold["ref"], "qty": int(hold["qty"]) - take})
    line.holds = holds
    return taken


def fo_out(
    fo: FulfillmentOrder, lines: Sequence[FulfillmentOrderLine], parcels: Sequence[Parcel], max_attempts: int
) -> FulfillmentOrderOut:
    return FulfillmentOrderOut(
        id=fo.id,
        number=fo.number,
        order_id=fo.order_id,
        order_number=fo.order_number,
        location_code=fo.location_code,
        type=fo.type,
        status=fo.status,
        deliver_to=fo.deliver_to,
        feeds_id=fo.feeds_id,
        lines=[
            FulfillmentLineOut(
                line_id=line.line_id,
                sku=line.sku,
                quantity=line.quantity,
                picked_quantity=line.picked_quantity,
                short_quantity=line.short_quantity,
                inbound_from=line.inbound_from,
            )
            for line in lines
        ],
        parcels=[
            ParcelOut(
                id=p.id,
                carrier=p.carrier,
                tracking_number=p.tracking_number,
                weight_grams=p.weight_grams,
                delivered_at=p.delivered_at,
            )
            for p in parcels
        ],
        promised_at=fo.promised_at,
        pickup_slot_at=fo.pickup_slot_at,
        respond_by=fo.respond_by,
        pick_list_id=fo.pick_list_id,
        reject_reason=fo.reject_reason,
        ready_at=fo.ready_at,
        expires_at=fo.expires_at,
        pickup_locked=fo.code_attempts >= max_attempts,
        created_at=fo.created_at,
        updated_at=fo.updated_at,
    )


async def fo_view(session: AsyncSession, fo: FulfillmentOrder) -> FulfillmentOrderOut:
    lines = (await repository.lines_of(session, [fo.id]))[fo.id]
    parcels = await repository.parcels_of(session, [fo.id])
    _, current = await rules_in_force(session)
    return fo_out(fo, lines, parcels, current.pickup_max_attempts)


NewsKind = Literal["shipped", "collected", "cancelled", "delivered"]


@dataclass(frozen=True)
class LinesNews:
    """Units of an order's lines that left (`shipped`), were handed over at a counter
    (`collected`), can no longer be served (`cancelled`, stock already released), or — for
    `delivered` — every unit delivered to the door so far (cumulative)."""

    order_id: uuid.UUID
    kind: NewsKind
    lines: dict[int, int]
    reason: str | None = None


@dataclass
class OrderNews:
    """What a fulfillment step did to its orders' lines, in the order it happened. Fulfillment
    cannot call orders (they sit side by side); the flow that ran the step tells orders in
    the same transaction."""

    items: list[LinesNews] = field(default_factory=list)

    def add(self, order_id: uuid.UUID, kind: NewsKind, lines: dict[int, int], reason: str | None = None) -> None:
        self.items.append(LinesNews(order_id, kind, lines, reason))


async def tell_orders(
    session: AsyncSession,
    news: OrderNews,
    order_id: uuid.UUID,
    kind: NewsKind,
    lines: Sequence[tuple[str, int]],
    *,
    actor: uuid.UUID | None,
    reason: str | None = None,
    location: str | None = None,
) -> None:
    """Record what happened to some of the order's lines — `shipped` (capture the card for
    them), `collected` (capture), `cancelled` (cancel and refund/void them) — as an outbox
    event, and add it to `news` for the flow to apply to the order."""
    merged: dict[str, int] = {}
    for line_id, qty in lines:
        if qty > 0:
            merged[line_id] = merged.get(line_id, 0) + qty
    if not merged:
        return
    payload = {
        "order_id": str(order_id),
        "kind": kind,
        "lines": [{"line_id": k, "quantity": v} for k, v in sorted(merged.items())],
        "reason": reason,
        "location": location,
    }
    await outbox.record(
        session, f"fulfillment.order_lines_{kind}", aggregate_type="order", aggregate_id=str(order_id), payload=payload
    )
    if kind == "cancelled":
        reason = reason or "not available"
    news.add(order_id, kind, {int(k): v for k, v in merged.items()}, reason)


async def release_held(
    session: AsyncSession, fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], actor: uuid.UUID | None
) -> None:
    """Release what the lines' holds reserve (wherever each hold is) and forget the holds."""
    for ref, held in stock_lines(fo, lines).items():
        await stock.release(session, ref, held, actor)
    for ln in lines:
        ln.holds = []


def start_of_day(now: datetime) -> datetime:
    """Daily capacity counts from UTC midnight (one clock for every location)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
