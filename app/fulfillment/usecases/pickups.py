"""Pickups (BOPIS) at the counter: ready with a pickup code, collect against the code or the
customer's identity, expiry of what was not collected in time."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal
from app.fulfillment import repository, rules
from app.fulfillment.errors import PickupLocked, WrongPickupCode
from app.fulfillment.schemas import CollectBody, FulfillmentOrderOut
from app.fulfillment.usecases import stock
from app.fulfillment.usecases.common import (
    OrderNews,
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


async def ready(session: AsyncSession, principal: Principal, fo_id: uuid.UUID) -> FulfillmentOrderOut:
    """Picked and waiting at the counter: a pickup code (six digits, hashed, single use) is
    issued and sent to the customer through the `fulfillment.pickup_ready` event."""
    fo = await load(session, fo_id)
    require_location(principal, fo)
    _, current = await rules_in_force(session)
    code = rules.new_pickup_code()
    fo.code_salt = os.urandom(16)
    fo.code_hash = rules.hash_pickup_code(code, fo.code_salt)
    fo.code_attempts = 0
    now = clock.now()
    fo.ready_at = now
    fo.expires_at = now + timedelta(days=current.pickup_expiry_days)
    await move(session, fo, "ready", principal.key_id, expires_at=fo.expires_at.isoformat())
    # The notifier needs the code itself; it travels only in this event, never in a response.
    await outbox.record(
        session,
        "fulfillment.pickup_ready",
        aggregate_type="fulfillment_order",
        aggregate_id=str(fo.id),
        payload={
            "fulfillment_order_id": str(fo.id),
            "order_id": str(fo.order_id),
            "order_number": fo.order_number,
            "store": fo.location_code,
            "pickup_code": code,
            "expires_at": fo.expires_at.isoformat(),
            # The order's contact (a guest has no customer record to look up); events and
            # webhooks carry it, logs never do (only ids and types are logged).
            "contact": fo.pickup_contact,
        },
    )
    return await fo_view(session, fo)


class CodeRefused(Exception):
    """A wrong code was counted; the caller answers with `problem` once the count is committed."""

    def __init__(self, problem: WrongPickupCode | PickupLocked) -> None:
        super().__init__(str(problem))
        self.problem = problem


async def collect(
    session: AsyncSession,
    principal: Principal,
    fo_id: uuid.UUID,
    body: CollectBody,
    *,
    customer_presents: bool,
    news: OrderNews,
) -> FulfillmentOrderOut:
    """At the counter: the right code — or the order number with the customer's loyalty
    card or phone — hands the goods over (reservation consumed, payment captured, order
    completed: in `news`). `customer_presents`: the order number and card or phone shown
    are the order's customer's (orders tells; the flow asks). A wrong answer is counted and
    refused; after the rules' max attempts the pickup locks. Raises CodeRefused *after*
    counting: the controller must commit and answer with its problem. The caller holds the
    order's row lock."""
    fo = await load(session, fo_id)
    require_location(principal, fo)
    _, current = await rules_in_force(session)
    used = fo.status == "collected"
    if body.code is not None:
        verdict = rules.check_pickup_code(
            body.code,
            stored_hash=fo.code_hash,
            salt=fo.code_salt,
            attempts=fo.code_attempts,
            max_attempts=current.pickup_max_attempts,
            used=used,
        )
    else:
        assert body.order_number is not None  # CollectBody: code, or order number + card/phone
        matches = fo.code_hash is not None and customer_presents
        verdict = rules.check_pickup_identity(
            matches, attempts=fo.code_attempts, max_attempts=current.pickup_max_attempts, used=used
        )
    if verdict == "used":
        transition(fo, "collect")  # raises 409 invalid_transition
    if fo.status != "ready_for_pickup":
        transition(fo, "collect")
    if verdict == "locked":
        raise CodeRefused(PickupLocked("the pickup is locked after too many wrong codes; ask a manager"))
    if verdict == "wrong":
        fo.code_attempts += 1
        left = max(current.pickup_max_attempts - fo.code_attempts, 0)
        record(
            session,
            fo,
            fo.order_id,
            "wrong_pickup_code" if body.code is not None else "wrong_pickup_identity",
            principal.key_id,
            attempts=fo.code_attempts,
        )
        if left == 0:
            await outbox.record(
                session,
                "fulfillment.pickup_locked",
                aggregate_type="fulfillment_order",
                aggregate_id=str(fo.id),
                payload={"fulfillment_order_id": str(fo.id), "order_id": str(fo.order_id)},
            )
            raise CodeRefused(PickupLocked("too many wrong codes: the pickup is now locked", attempts_left=0))
        what = "the code does not match" if body.code is not None else "the order number and card or phone do not match"
        raise CodeRefused(WrongPickupCode(what, attempts_left=left))
    lines = (await repository.lines_of(session, [fo.id]))[fo.id]
    for ref, held in stock_lines(fo, lines).items():
        await stock.consume(session, ref, held, principal.key_id, f"fulfillment:{fo.number}")
    for ln in lines:
        ln.holds = []
    fo.code_hash = None  # single use
    await move(session, fo, "collect", principal.key_id, verified_by="code" if body.code is not None else "identity")
    await tell_orders(
        session,
        news,
        fo.order_id,
        "collected",
        [(ln.line_id, ln.picked_quantity) for ln in lines],
        actor=principal.key_id,
    )
    return await fo_view(session, fo)


async def expired_pickups(session: AsyncSession, limit: int = 100) -> list[uuid.UUID]:
    """Ready pickups not collected in time (up to `limit`)."""
    return list(await repository.expired_pickups(session, clock.now(), limit))


async def expire_pickup(session: AsyncSession, fo_id: uuid.UUID, *, news: OrderNews) -> None:
    """A ready pickup not collected in time: cancelled, the goods back in the store's
    available stock, `fulfillment.expired` emitted, its lines cancelled in `news` (the order
    voids the payment). Re-checked under the lock; the caller holds the order's row lock."""
    fo = await load(session, fo_id)
    if fo.status == "ready_for_pickup" and fo.expires_at is not None and fo.expires_at <= clock.now():
        lines = (await repository.lines_of(session, [fo.id]))[fo.id]
        await release_held(session, fo, lines, None)
        fo.code_hash = None
        await move(session, fo, "expire", None)
        await tell_orders(
            session,
            news,
            fo.order_id,
            "cancelled",
            [(ln.line_id, ln.quantity - ln.short_quantity) for ln in lines],
            actor=None,
            reason="pickup not collected in time",
        )
