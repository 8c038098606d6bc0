"""Reads of one customer's things for the contact-center view (app/flows/customer_view.py):
nothing here creates or changes a row."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.customers import service as customers
from app.orders import repository
from app.orders.schemas import CartOut
from app.orders.usecases.carts import priced


async def open_cart(session: AsyncSession, customer_id: uuid.UUID) -> CartOut | None:
    """The customer's open cart priced now, or None (unlike `customer_cart`, which creates
    an empty one so every channel finds one: a view must not write)."""
    cart = await repository.open_cart_of(session, customer_id)
    if cart is None:
        return None
    return await priced(session, cart, await repository.cart_lines(session, cart.id))


async def token_customer(session: AsyncSession, principal: Principal, token: str) -> uuid.UUID:
    """The customer a storefront's `X-Customer-Token` is for (403 `customer_token_invalid`)."""
    return await customers.customer_of_token(session, principal, token)
