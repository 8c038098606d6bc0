"""Contact center: find the caller (e-mail, phone, loyalty card or an order number), the one
customer view (orders and returns from every channel, loyalty), an order with its timeline
and fulfillment; cancel it or put a hold on it — through the services the API calls."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import service as staff_accounts
from app.console.rules import Staff, StaffRole
from app.console.web import MANAGERS, page, staff_roles, whole_number
from app.core.errors import InvalidInput, NotFound
from app.customers import service as customers
from app.flows import cancel_order, customer_merge
from app.fulfillment import service as fulfillment
from app.loyalty import service as loyalty
from app.orders import service as orders
from app.orders.rules import HoldType

AGENTS = staff_roles(StaffRole.CONTACT_CENTER, MANAGERS)
HOLD_TYPES = [(t.value, t.value.replace("_", " ")) for t in HoldType]


async def _find(session: AsyncSession, staff: Staff, text: str) -> str | None:
    """Where a search leads: the customer's page, or an order's when it has no customer."""
    if "@" not in text:
        with contextlib.suppress(NotFound, InvalidInput):
            order = await orders.order_by_number(session, staff.principal, text, None)
            if order.customer_id is None:
                return f"/console/contact/orders/{order.id}"
            return f"/console/contact/customers/{order.customer_id}"
    keys = [{"email": text}] if "@" in text else [{"card": text}, {"phone": text}]
    for key in keys:
        try:
            found = await customers.find_customers(session, **key)
        except InvalidInput:
            continue
        if found:
            return f"/console/contact/customers/{found[0].id}"
    return None


@get("/contact", opt=AGENTS)
async def contact(db_session: AsyncSession, staff: Staff, q: str | None = None) -> Any:
    text = (q or "").strip()[:120]
    target = await _find(db_session, staff, text) if text else None
    if target is not None:
        return Redirect(path=target, status_code=303)
    return page("contact.html", staff, status=404 if text else 200, q=text, not_found=bool(text))


@get("/contact/customers/{customer_id:uuid}", opt=AGENTS)
async def customer_view(db_session: AsyncSession, staff: Staff, customer_id: uuid.UUID) -> Template:
    return await _customer_page(db_session, staff, customer_id)


async def _customer_page(session: AsyncSession, staff: Staff, customer_id: uuid.UUID, **extra: Any) -> Template:
    overview = await customer_merge.customer_overview(session, customer_id, 50)
    # Points are corrected by admin keys only in the API: managers and admins here.
    can_adjust = staff.role in MANAGERS
    return page("contact_customer.html", staff, overview=overview, money=_money, can_adjust=can_adjust, **extra)


@post("/contact/customers/{customer_id:uuid}/points", opt=staff_roles(MANAGERS), status_code=200)
async def adjust_points(
    request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, customer_id: uuid.UUID
) -> Template:
    form = await request.form()
    points = whole_number(form.get("points"), signed=True)
    if not points:
        raise InvalidInput("enter the points to add (or, with a minus, to take away)", code="invalid_points")
    customer = await customers.get_customer(db_session, customer_id)
    # The loyalty ledger keeps a reason, not an actor: the staff member is named in it.
    reason = f"{_reason(form.get('reason'))[:150]} (by {staff.email})"[:200]
    await loyalty.adjust(db_session, card_number=customer.card_number, points=points, reason=reason)
    return await _customer_page(db_session, staff, customer_id, done=f"{points:+d} points: {reason}")


async def _order_page(session: AsyncSession, staff: Staff, order_id: uuid.UUID, **extra: Any) -> Template:
    order = await orders.order_for(session, staff.principal, order_id, None)
    timeline = await orders.timeline(session, staff.principal, order_id, None, None, 100)
    actors = sorted({e.actor_key_id for e in timeline.items if e.actor_key_id is not None})
    return page(
        "contact_order.html",
        staff,
        order=order,
        timeline=timeline.items,
        who=await staff_accounts.staff_names(session, actors),
        fulfillment=await fulfillment.order_fulfillment(session, order_id),
        hold_types=HOLD_TYPES,
        money=_money,
        **extra,
    )


@get("/contact/orders/{order_id:uuid}", opt=AGENTS)
async def order_view(db_session: AsyncSession, staff: Staff, order_id: uuid.UUID, placed: bool = False) -> Template:
    # `placed`: the order form's redirect after placing it (a replayed double click lands here too).
    done = "Order placed for the caller: give them its number." if placed else None
    return await _order_page(db_session, staff, order_id, done=done)


def _reason(raw: object) -> str:
    reason = str(raw or "").strip()[:500]
    if not reason:
        raise InvalidInput("say why", code="reason_required", field="reason")
    return reason


@post("/contact/orders/{order_id:uuid}/cancel", opt=AGENTS, status_code=200)
async def cancel(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, order_id: uuid.UUID) -> Any:
    reason = _reason((await request.form()).get("reason"))
    await cancel_order.cancel_order(db_session, staff.principal, order_id, reason)
    return await _order_page(db_session, staff, order_id, done="Order cancelled: the customer is refunded.")


@post("/contact/orders/{order_id:uuid}/holds", opt=AGENTS, status_code=200)
async def add_hold(
    request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff, order_id: uuid.UUID
) -> Template:
    form = await request.form()
    kind = str(form.get("type", ""))
    if kind not in {t.value for t in HoldType}:
        raise InvalidInput("choose the kind of hold", code="invalid_hold_type", field="type")
    await orders.add_hold(db_session, staff.principal, order_id, kind, _reason(form.get("reason")))
    return await _order_page(db_session, staff, order_id, done="Hold added: the order waits until it is lifted.")


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency}"


ROUTES: list[Any] = [contact, customer_view, adjust_points, order_view, cancel, add_hold]
