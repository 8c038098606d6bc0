"""The contact center's one search box: phone, e-mail, card, order number or name prefix.

Reads only, in the request's transaction. What `q` is decides where to look (customers by
an exact key, orders by number then their customer, customers by name), so the agent types
whatever the caller gives and never picks a field.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.pagination import Page
from app.core.schema import Out
from app.customers import service as customers
from app.customers.schemas import CustomerOut
from app.orders import rules as order_rules
from app.orders import service as orders
from app.orders.errors import OrderNotFound

Matched = Literal["email", "phone", "card", "order_number", "name"]

_CARD = re.compile(r"^29\d{11}$")
# What people dictate as a phone number: digits with an optional +, spaces, dashes, dots, brackets.
_PHONE = re.compile(r"^\+?[\d\s\-./()]{6,}$")


class CustomerMatch(Out):
    customer: CustomerOut
    matched: Matched


def kind_of(q: str) -> Matched:
    """Which key `q` is: e-mail (has @), card (29 + 11 digits), phone (digits), an order
    number (8 characters of the number alphabet, dashes and case ignored), else a name."""
    text = q.strip()
    if "@" in text:
        return "email"
    if _CARD.match(text):
        return "card"
    if _PHONE.match(text) and sum(ch.isdigit() for ch in text) >= 6:
        return "phone"
    if order_rules.is_order_number(order_rules.normalize_order_number(text)):
        return "order_number"
    return "name"


async def search(
    session: AsyncSession, principal: Principal, q: str, *, cursor: str | None, limit: int
) -> Page[CustomerMatch]:
    """The customers `q` names, with what matched. A word of eight letters may be an order
    number or a name: no such order, then it is searched as a name."""
    kind = kind_of(q)
    text = q.strip()
    if kind == "order_number" and cursor is None:
        try:
            order = await orders.order_by_number(session, principal, text, None)
        except OrderNotFound:
            if any(ch.isdigit() for ch in text):
                return Page(items=[])
        else:
            if order.customer_id is None:  # a guest order: nobody to show
                return Page(items=[])
            customer = await customers.get_customer(session, order.customer_id)
            return Page(items=[CustomerMatch(customer=customer, matched=kind)])
        kind = "name"
    if kind in ("name", "order_number"):
        named = await customers.customers_named(session, text, cursor=cursor, limit=limit)
        return Page(
            items=[CustomerMatch(customer=c, matched="name") for c in named.items], next_cursor=named.next_cursor
        )
    found = await customers.find_customers(
        session,
        email=text if kind == "email" else None,
        phone=text if kind == "phone" else None,
        card=text if kind == "card" else None,
    )
    return Page(items=[CustomerMatch(customer=c, matched=kind) for c in found])
