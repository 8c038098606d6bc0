"""Store associate: the ship-from-store queue (accept, or reject with a reason before the
timer runs out), picked pickups to make ready, the pickup counter (the customer's code
hands the goods over; wrong codes count toward the lock exactly as through the API), and the
back door: ship-to-store parcels and stock transfers arriving, a parcel scanned in (its
tracking number, or its fulfillment order's number) as `POST /v1/parcels/received` does.

Everything here acts for one store: a store-bound associate's own, whatever the form says;
a manager's the store chosen (the services are called as if bound to it)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.rules import Staff, StaffRole
from app.console.web import MANAGERS, page, staff_roles, work_location
from app.core import clock
from app.core.auth import Principal
from app.flows import fulfillment_progress
from app.fulfillment import service as fulfillment
from app.fulfillment.errors import AmbiguousParcel, UnknownParcel
from app.fulfillment.schemas import CollectBody, FulfillmentOrderOut, ParcelScan
from app.inventory import service as inventory
from app.inventory.schemas import TransferOut

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


def _at_store(staff: Staff, location: str) -> Principal:
    """The staff member acting for one store: the services then show and accept that store's
    parcels only (a store-bound associate's location is already theirs)."""
    return msgspec.structs.replace(staff.principal, location_code=location)


async def _transfers_in(session: AsyncSession, location: str) -> list[TransferOut]:
    """Stock transfers on their way here. A ship-to-store parcel travels as a transfer too:
    it is listed (and scanned in) as its parcel, not twice."""
    found = await inventory.list_transfers(session, status="dispatched", location_code=location, limit=100, cursor=None)
    return [t for t in found.items if t.to_location == location and not (t.note or "").startswith("ship-to-store")]


async def _store(session: AsyncSession, staff: Staff, location: str, *, status: int = 200, **extra: Any) -> Template:
    created = await _listed(session, staff, location, "created")
    picked = await _listed(session, staff, location, "picked")
    context = {
        "location": location,
        "queue": [fo for fo in created if fo.type == "delivery" and fo.respond_by is not None],
        "to_ready": [fo for fo in picked if fo.type == "pickup"],
        "ready": await _listed(session, staff, location, "ready_for_pickup"),
        "expired": await _listed(session, staff, location, "expired"),
        "arriving": await fulfillment.parcels_arriving(session, _at_store(staff, location), location),
        "transfers_in": await _transfers_in(session, location),
        "now": clock.now(),
        "reasons": REJECT_REASONS,
        "refusal": None,
        "done": None,
        "at_parcels": False,
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
    return await _store(db_session, staff, fo.location_code, done=f"{fo.number} rejected: sent to another location.")


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


def _location(staff: Staff, form: FormMultiDict) -> str:
    return work_location(staff, str(form.get("location", "")).strip() or None)


@post("/store/parcels/received", opt=ASSOCIATES, status_code=200)
async def receive_parcel(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff) -> Template:
    form = await request.form()
    location = _location(staff, form)
    scanned = str(form.get("scan", "")).strip()[:100]
    acting = _at_store(staff, location)
    # A fulfillment order's number (on the parcel's label) names its parcel's tracking number.
    arriving = await fulfillment.parcels_arriving(db_session, acting, location)
    by_number = {fo.number: fo for fo in arriving}
    fo = by_number.get(scanned.upper()) or by_number.get(scanned)
    tracking = next((p.tracking_number for p in fo.parcels if p.delivered_at is None), scanned) if fo else scanned
    try:
        scan = msgspec.convert({"tracking_number": tracking}, ParcelScan)
        received = await fulfillment_progress.receive_parcel(db_session, acting, scan)
    except (msgspec.ValidationError, UnknownParcel, AmbiguousParcel):
        refusal = f"NOT EXPECTED HERE: no parcel “{scanned}” is on its way to {location}. Put it aside."
        return await _store(db_session, staff, location, refusal=refusal, status=404, at_parcels=True)
    if received.duplicate:
        refusal = f"Parcel {tracking} was already received."
        return await _store(db_session, staff, location, refusal=refusal, status=409, at_parcels=True)
    done = f"Parcel {tracking} received: its order's pickup goes to picking, then to the counter."
    return await _store(db_session, staff, location, done=done, at_parcels=True)


@post("/store/transfers/{transfer_id:uuid}/receive", opt=ASSOCIATES, status_code=200)
async def receive_transfer(
    request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, transfer_id: uuid.UUID
) -> Template:
    location = _location(staff, await request.form())
    acting = _at_store(staff, location)
    received = await inventory.receive_transfer(db_session, transfer_id, actor=staff.id, principal=acting)
    units = sum(line.quantity for line in received.lines)
    done = f"Transfer from {received.from_location} received: {units} unit(s) on the shelf."
    return await _store(db_session, staff, location, done=done, at_parcels=True)


ROUTES: list[Any] = [store_home, accept, reject, make_ready, collect, receive_parcel, receive_transfer]
