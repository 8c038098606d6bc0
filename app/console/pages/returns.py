"""Returns counter: find the purchase (order number or scanned receipt, loyalty card, phone,
e-mail), choose units and what happens to them, see the exact refund per tender and the
points taken back, confirm, print the return receipt.

The preview is the returns service itself, run inside a savepoint that is rolled back (and
its after-commit jobs dropped): the figures shown are the ones the confirmation will write,
with no second copy of the refund rules."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.rules import Staff, StaffRole
from app.console.web import MANAGERS, page, staff_roles, whole_number, work_location
from app.core.errors import InvalidInput, NotFound
from app.customers import service as customers
from app.flows import return_and_refund
from app.orders import service as orders
from app.orders.returns import service as returns
from app.orders.returns.schemas import ReturnableLineOut, ReturnCreate, ReturnOut

COUNTER = staff_roles(StaffRole.STORE_ASSOCIATE, MANAGERS)
DISPOSITIONS = [("restock", "Back on the shelf"), ("damaged", "Damaged: write off")]


async def _find_lines(session: AsyncSession, staff: Staff, text: str) -> list[ReturnableLineOut]:
    """The returnable lines a typed or scanned entry leads to: an order number (receipt), or
    the customer's e-mail, loyalty card or phone (their recent orders)."""
    principal = staff.principal
    if "@" not in text:
        with contextlib.suppress(NotFound, InvalidInput):
            order = await orders.order_by_number(session, principal, text, None)
            return list((await return_and_refund.returnable(session, principal, order.id)).lines)
    keys = [{"email": text}] if "@" in text else [{"card": text}, {"phone": text}]
    for key in keys:
        try:
            found = await customers.find_customers(session, **key)
        except InvalidInput:
            continue
        if found:
            return list((await return_and_refund.customer_returnable_lines(session, principal, found[0].id)).lines)
    return []


def _by_order(lines: list[ReturnableLineOut]) -> list[tuple[str, uuid.UUID, list[ReturnableLineOut]]]:
    groups: dict[uuid.UUID, tuple[str, uuid.UUID, list[ReturnableLineOut]]] = {}
    for line in lines:
        groups.setdefault(line.order_id, (line.order_number, line.order_id, []))[2].append(line)
    return list(groups.values())


@get("/returns", opt=COUNTER)
async def returns_counter(db_session: AsyncSession, staff: Staff, q: str | None = None) -> Template:
    text = (q or "").strip()[:120]
    lines = await _find_lines(db_session, staff, text) if text else []
    return page(
        "returns.html",
        staff,
        status=404 if text and not lines else 200,
        q=text,
        orders=_by_order(lines),
        not_found=bool(text and not lines),
        dispositions=DISPOSITIONS,
    )


def _return_body(form: FormMultiDict, staff: Staff) -> ReturnCreate:
    lines = []
    for key, value in form.multi_items():
        no, units = whole_number(key.removeprefix("qty.")), whole_number(value)
        if key.startswith("qty.") and no is not None and units:
            lines.append({"line_no": no, "quantity": units, "disposition": str(form.get(f"disp.{no}", "restock"))})
    if not lines:
        raise InvalidInput("choose at least one unit to return", code="nothing_chosen")
    location = work_location(staff, str(form.get("location", "")) or None)
    try:
        return msgspec.convert(
            {
                "order_id": str(form.get("order_id", "")),
                "lines": lines,
                "reason": str(form.get("reason", "")).strip()[:500] or "returned at the counter",
                "mode": "immediate",
                "location_code": location,
            },
            ReturnCreate,
        )
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"check the return: {exc}", code="invalid_return") from exc


@contextlib.asynccontextmanager
async def _rolled_back(session: AsyncSession) -> AsyncIterator[None]:
    """Run the real use case in a savepoint, then undo it and the jobs it asked for."""
    queued = {key: list(session.info.get(key, [])) for key in ("after_commit", "last_before_commit")}
    savepoint = await session.begin_nested()
    try:
        yield
    finally:
        await savepoint.rollback()
        for key, hooks in queued.items():
            session.info[key] = hooks


@post("/returns/preview", opt=COUNTER, status_code=200)
async def preview(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff) -> Template:
    form = await request.form()
    body = _return_body(form, staff)
    async with _rolled_back(db_session):
        would = await return_and_refund.create_return(db_session, staff.principal, body)
    return page("returns_preview.html", staff, ret=would, body=body, reason=body.reason, money=_money)


@post("/returns/confirm", opt=COUNTER, status_code=200)
async def confirm(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff) -> Template:
    body = _return_body(await request.form(), staff)
    done = await return_and_refund.create_return(db_session, staff.principal, body)
    return _receipt(staff, done)


@get("/returns/{return_id:uuid}", opt=COUNTER)
async def receipt(db_session: AsyncSession, staff: Staff, return_id: uuid.UUID) -> Template:
    return _receipt(staff, await returns.get_return(db_session, staff.principal, return_id))


def _receipt(staff: Staff, ret: ReturnOut) -> Template:
    return page("returns_receipt.html", staff, ret=ret, money=_money)


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency}"


ROUTES: list[Any] = [returns_counter, preview, confirm, receipt]
