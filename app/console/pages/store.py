"""Store associate: the ship-from-store queue (accept, or reject with a reason before the
timer runs out), picked pickups to make ready, and the pickup counter (the customer's code
hands the goods over; wrong codes count toward the lock exactly as through the API)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.rules import Staff, StaffRole
from app.console.web import MANAGERS, page, staff_roles, work_location
from app.core import clock
from app.flows import fulfillment_progress
from app.fulfillment import service as fulfillment
from app.fulfillment.schemas import CollectBody, FulfillmentOrderOut

ASSOCIATES = staff_roles(StaffRole.STORE_ASSOCIATE, MANAGERS)
REJECT_REASONS = [
    ("no_staff", "No staff to pack it"),
    ("not_found", "Item not found"),
    ("item_damaged", "Item damaged"),
]


async def _listed(session: AsyncSession, staff: Staff, location: str, status: str) -> list[FulfillmentOrderOut]:
    found = await fulfillment.list_fulfillment_orders(
        session, staff.principal, location_code=location, status=status, order_id=None, limit=100, cursor=None
    )
    return list(found.items)


async def _store(session: AsyncSession, staff: Staff, location: str, *, status: int = 200, **extra: Any) -> Template:
    created = await _listed(session, staff, location, "created")
    picked = await _listed(session, staff, location, "picked")
    context = {
        "location": location,
        "queue": [fo for fo in created if fo.type == "delivery" and fo.respond_by is not None],
        "to_ready": [fo for fo in picked if fo.type == "pickup"],
        "ready": await _listed(session, staff, location, "ready_for_pickup"),
        "expired": await _listed(session, staff, location, "expired"),
        "now": clock.now(),
        "reasons": REJECT_REASONS,
        "refusal": None,
        "done": None,
        **extra,
    }
    return page("store.html", staff, status=status, **context)


@get("/store", opt=ASSOCIATES)
async def store_home(db_session: AsyncSession, staff: Staff, location: str | None = None) -> Template:
    if staff.location_code is None and not location:
        return page("choose_location.html", staff, action="/console/store")
    return await _store(db_session, staff, work_location(staff, location))


@post("/store/fulfillment-orders/{fo_id:uuid}/accept", opt=ASSOCIATES, status_code=200)
async def accept(db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Template:
    fo = await fulfillment.accept(db_session, staff.principal, fo_id)
    return await _store(db_session, staff, fo.location_code, done=f"{fo.number} accepted: take it into a pick list.")


@post("/store/fulfillment-orders/{fo_id:uuid}/reject", opt=ASSOCIATES, status_code=200)
async def reject(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Template:
    form = await request.form()
    reason = str(form.get("reason", ""))
    note = str(form.get("note", "")).strip()[:500] or None
    if reason not in {code for code, _ in REJECT_REASONS}:
        fo = await fulfillment.get_fulfillment_order(db_session, staff.principal, fo_id)
        refusal = "Choose why the store cannot ship it."
        return await _store(db_session, staff, fo.location_code, refusal=refusal, status=422)
    fo = await fulfillment_progress.reject(db_session, staff.principal, fo_id, reason, note)
    where = fo.rejection.outcome if fo.rejection else "sent to another location"
    return await _store(db_session, staff, fo.location_code, done=f"{fo.number} rejected: {where}.")


@post("/store/fulfillment-orders/{fo_id:uuid}/ready", opt=ASSOCIATES, status_code=200)
async def make_ready(db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Template:
    fo = await fulfillment.ready(db_session, staff.principal, fo_id)
    done = f"{fo.number} is ready: the customer gets the pickup code."
    return await _store(db_session, staff, fo.location_code, done=done)


@post("/store/fulfillment-orders/{fo_id:uuid}/collect", opt=ASSOCIATES, status_code=200)
async def collect(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Any:
    code = str((await request.form()).get("code", "")).strip()
    try:
        body = msgspec.convert({"code": code}, CollectBody)
    except msgspec.ValidationError:
        fo = await fulfillment.get_fulfillment_order(db_session, staff.principal, fo_id)
        return await _store(db_session, staff, fo.location_code, refusal="Type or scan the pickup code.", status=422)
    try:
        fo = await fulfillment_progress.collect(db_session, staff.principal, fo_id, body)
    except fulfillment.CodeRefused as refused:
        # Answered, not raised: the wrong attempt is committed with the refusal (as the API does).
        fo = await fulfillment.get_fulfillment_order(db_session, staff.principal, fo_id)
        left = refused.problem.extra.get("attempts_left")
        detail = refused.problem.detail or refused.problem.title
        message = f"WRONG CODE for {fo.number}: {detail}" + (f" ({left} tries left)" if left else "")
        return await _store(db_session, staff, fo.location_code, refusal=message, status=refused.problem.status)
    return await _store(db_session, staff, fo.location_code, done=f"{fo.number} handed over to the customer.")


ROUTES: list[Any] = [store_home, accept, reject, make_ready, collect]
