"""Picker: take the next pick list of my location, walk it in bin order scanning each item
(a wrong item is refused loudly), confirm (short picks are re-sourced by the same service the
API calls), then pack with carrier + tracking, print the label stub, ship.

The scan count of a walk travels in the page (hidden `f.<sku>` fields): nothing is written
until the picker confirms, exactly like the API's one confirm call.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ValidationException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.rules import Staff, StaffRole
from app.console.web import MANAGERS, find_variant, page, staff_roles, variant_names, whole_number, work_location
from app.flows import fulfillment_progress
from app.fulfillment import service as fulfillment
from app.fulfillment.errors import NothingToPick
from app.fulfillment.schemas import FoundLine, PackBody, PickListOut

# Store associates pick their store's ship-from-store and pickup orders the same way.
PICKERS = staff_roles(StaffRole.PICKER, StaffRole.STORE_ASSOCIATE, MANAGERS)
CARRIERS = ["dhl", "dpd", "gls", "hermes", "ups"]


async def _queue(session: AsyncSession, staff: Staff, location: str) -> dict[str, list[Any]]:
    """Walks taken but not confirmed (to resume), then what waits for packing and shipping."""
    queue: dict[str, list[Any]] = {}
    for status in ("assigned", "picked", "packed"):
        found = await fulfillment.list_fulfillment_orders(
            session, staff.principal, location_code=location, status=status, order_id=None, limit=50, cursor=None
        )
        queue[status] = [fo for fo in found.items if status == "assigned" or fo.type != "pickup"]
    queue["walks"] = sorted({fo.pick_list_id for fo in queue.pop("assigned") if fo.pick_list_id is not None})
    return queue


@get("/picker", opt=PICKERS)
async def picker_home(db_session: AsyncSession, staff: Staff, location: str | None = None) -> Template:
    if staff.location_code is None and not location:
        return page("picker_home.html", staff, location=None, queue=None, message=None)
    where = work_location(staff, location)
    return page("picker_home.html", staff, location=where, queue=await _queue(db_session, staff, where), message=None)


@post("/picker/pick-lists", opt=PICKERS, status_code=200)
async def take_pick_list(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff) -> Any:
    where = work_location(staff, str((await request.form()).get("location", "")))
    try:
        pick_list = await fulfillment.next_pick_list(db_session, staff.principal, where)
    except NothingToPick:
        queue = await _queue(db_session, staff, where)
        return page("picker_home.html", staff, location=where, queue=queue, message=f"Nothing to pick at {where}.")
    return Redirect(path=f"/console/picker/pick-lists/{pick_list.id}", status_code=303)


def _found(form: FormMultiDict, pick_list: PickListOut) -> dict[str, int]:
    wanted = {ln.sku: ln.quantity for ln in pick_list.lines}
    found = dict.fromkeys(wanted, 0)
    for sku in wanted:
        count = whole_number(form.get(f"f.{sku}"))
        if count is not None:
            found[sku] = min(count, wanted[sku])
    return found


async def _walk(
    session: AsyncSession, staff: Staff, pick_list: PickListOut, found: dict[str, int], **extra: Any
) -> Template:
    next_line = next((ln for ln in pick_list.lines if found.get(ln.sku, 0) < ln.quantity), None)
    names = await variant_names(session, [ln.sku for ln in pick_list.lines])
    return page("picker_walk.html", staff, pick_list=pick_list, found=found, next_line=next_line, names=names, **extra)


@get("/picker/pick-lists/{pick_list_id:uuid}", opt=PICKERS)
async def walk(db_session: AsyncSession, staff: Staff, pick_list_id: uuid.UUID) -> Template:
    pick_list = await fulfillment.get_pick_list(db_session, staff.principal, pick_list_id)
    if pick_list.status != "open":
        return await _confirmed(db_session, staff, pick_list)
    return await _walk(db_session, staff, pick_list, dict.fromkeys((ln.sku for ln in pick_list.lines), 0))


@post("/picker/pick-lists/{pick_list_id:uuid}/scan", opt=PICKERS, status_code=200)
async def scan(
    request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, pick_list_id: uuid.UUID
) -> Template:
    pick_list = await fulfillment.get_pick_list(db_session, staff.principal, pick_list_id)
    form = await request.form()
    found = _found(form, pick_list)
    scanned = str(form.get("scan", "")).strip()
    variant = await find_variant(db_session, scanned)
    wanted = {ln.sku: ln.quantity for ln in pick_list.lines}
    if variant is None:
        return await _walk(
            db_session, staff, pick_list, found, refusal=f"Unknown item “{scanned[:64]}”. Scan again.", status=422
        )
    name = f"{variant.product.name} {variant.size or ''} ({variant.sku})"
    if variant.sku not in wanted:
        return await _walk(
            db_session, staff, pick_list, found, refusal=f"WRONG ITEM: {name} is not on this pick list.", status=422
        )
    if found[variant.sku] >= wanted[variant.sku]:
        refusal = f"TOO MANY: all {wanted[variant.sku]} of {name} are scanned."
        return await _walk(db_session, staff, pick_list, found, refusal=refusal, status=422)
    found[variant.sku] += 1
    return await _walk(
        db_session, staff, pick_list, found, scanned=f"{name}: {found[variant.sku]} of {wanted[variant.sku]}"
    )


@post("/picker/pick-lists/{pick_list_id:uuid}/confirm", opt=PICKERS, status_code=200)
async def confirm(
    request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, pick_list_id: uuid.UUID
) -> Template:
    pick_list = await fulfillment.get_pick_list(db_session, staff.principal, pick_list_id)
    form = await request.form()
    found = _found(form, pick_list)
    short = {ln.sku: ln.quantity - found[ln.sku] for ln in pick_list.lines if found[ln.sku] < ln.quantity}
    if short and form.get("short_ok") != "yes":
        return await _walk(db_session, staff, pick_list, found, short=short)
    done = await fulfillment_progress.confirm_pick_list(
        db_session, staff.principal, pick_list_id, [FoundLine(sku=sku, found=n) for sku, n in found.items()]
    )
    return await _confirmed(db_session, staff, done)


async def _confirmed(db_session: AsyncSession, staff: Staff, pick_list: PickListOut) -> Template:
    principal = staff.principal
    fos = [await fulfillment.get_fulfillment_order(db_session, principal, i) for i in pick_list.fulfillment_order_ids]
    return page("picker_done.html", staff, pick_list=pick_list, fos=fos)


@get("/picker/fulfillment-orders/{fo_id:uuid}", opt=PICKERS)
async def parcel(db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Template:
    fo = await fulfillment.get_fulfillment_order(db_session, staff.principal, fo_id)
    return page("picker_parcel.html", staff, fo=fo, carriers=CARRIERS, error=None)


@post("/picker/fulfillment-orders/{fo_id:uuid}/pack", opt=PICKERS, status_code=200)
async def pack(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Any:
    form = await request.form()
    parcel = {"carrier": str(form.get("carrier", "")), "tracking_number": str(form.get("tracking", "")).strip()}
    try:
        body = msgspec.convert({"parcels": [parcel]}, PackBody)
    except msgspec.ValidationError:
        fo = await fulfillment.get_fulfillment_order(db_session, staff.principal, fo_id)
        error = "Choose the carrier and scan the tracking number (letters, digits and dashes)."
        return page("picker_parcel.html", staff, fo=fo, carriers=CARRIERS, error=error, status=422)
    await fulfillment.pack(db_session, staff.principal, fo_id, body)
    return Redirect(path=f"/console/picker/fulfillment-orders/{fo_id}", status_code=303)


@post("/picker/fulfillment-orders/{fo_id:uuid}/ship", opt=PICKERS, status_code=200)
async def ship(db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Redirect:
    await fulfillment_progress.ship(db_session, staff.principal, fo_id)
    return Redirect(path=f"/console/picker/fulfillment-orders/{fo_id}", status_code=303)


@get("/picker/fulfillment-orders/{fo_id:uuid}/label", opt=PICKERS)
async def label(db_session: AsyncSession, staff: Staff, fo_id: uuid.UUID) -> Template:
    fo = await fulfillment.get_fulfillment_order(db_session, staff.principal, fo_id)
    if not fo.parcels:
        raise ValidationException(detail="pack the parcel first")
    return page("picker_label.html", staff, fo=fo)


ROUTES: list[Any] = [picker_home, take_pick_list, walk, scan, confirm, parcel, pack, ship, label]
