"""Merge two records of the same person — customers, orders (orders and carts) and loyalty
(points) — and the contact-center view that reads all three.

Transaction boundary: the caller's (the request's `db_session`); nothing here commits; all
of the merge or none of it. Lock order: both customer rows (by id) → the absorbed
customer's open cart and the survivor's → the orders (moved by customer id) → both loyalty
cards. A repeated merge changes nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.customers.schemas import CustomerOut, CustomerOverview
from app.loyalty import service as loyalty
from app.orders import service as orders


async def merge_customers(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> CustomerOut:
    """Fold `absorbed_id` into `survivor_id`: the tombstone keeps its ids, card and contacts
    leading to the survivor; its orders and carts and its card's points move to the survivor."""
    merged = await customers.merge_customers(session, survivor_id, absorbed_id)
    if merged.fresh:
        await orders.move_to_survivor(session, merged.customer.id, absorbed_id)
        await loyalty.merge_cards(session, merged.customer.id, absorbed_id)
    return merged.customer


async def customer_overview(session: AsyncSession, customer_id: uuid.UUID, history_limit: int) -> CustomerOverview:
    """Profile, loyalty balance and the newest `history_limit` orders of every channel
    (reads only; one statement at a time: a session runs one at once)."""
    customer = await customers.get_customer(session, customer_id)
    balance = await loyalty.balance_for_customer(session, customer.id)
    history = await orders.order_history(session, customer.id, history_limit)
    return customers.overview(customer, balance, history, history_limit)
