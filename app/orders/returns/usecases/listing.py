"""A customer's or an order's returns, newest first (contact center, tills, storefronts)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.pagination import Keyset, Page
from app.customers import service as customers
from app.orders import repository as orders_repository
from app.orders.returns import repository
from app.orders.returns.errors import ReturnOrderNotFound, ReturnsFilterRequired
from app.orders.returns.schemas import ReturnOut
from app.orders.returns.usecases.common import check_access, return_out

RETURNS = Keyset("returns", datetime, uuid.UUID)


async def list_returns(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: uuid.UUID | None,
    order_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
    token: str | None = None,
) -> Page[ReturnOut]:
    """Exactly one of `customer_id` (every order of the customer, merged records included)
    or `order_id`. Who may see them follows the order's and the customer's rules."""
    if (customer_id is None) == (order_id is None):
        raise ReturnsFilterRequired("send exactly one of customer_id or order_id")
    scope = customer_id or order_id
    after = RETURNS.after(cursor, scope=scope)
    if order_id is not None:
        order = await orders_repository.order(session, order_id)
        if order is None:
            raise ReturnOrderNotFound(f"no order {order_id}")
        await check_access(session, principal, order, token)
        rows = await repository.returns_page(
            session, order_ids=[order_id], customer_id=None, after=_key(after), limit=limit
        )
    else:
        assert customer_id is not None
        survivor = await customers.resolve_customer_id(session, customer_id)
        if survivor is None:
            return Page(items=[])
        await customers.authorize_customer_access(session, principal, survivor, token)
        rows = await repository.returns_page(
            session, order_ids=None, customer_id=survivor, after=_key(after), limit=limit
        )
    items = [await return_out(session, ret) for ret in rows]
    return RETURNS.page(items, limit, lambda r: [r.created_at, r.id], scope=scope)


def _key(after: tuple[object, ...] | None) -> tuple[datetime, uuid.UUID] | None:
    if after is None:
        return None
    created_at, return_id = after
    assert isinstance(created_at, datetime) and isinstance(return_id, uuid.UUID)
    return created_at, return_id


async def returns_of_orders(
    session: AsyncSession, order_ids: list[uuid.UUID], *, limit: int = 200
) -> dict[uuid.UUID, list[ReturnOut]]:
    """Each order's returns, newest first (no access check: for a flow that checked it)."""
    out: dict[uuid.UUID, list[ReturnOut]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        for ret in await repository.returns_page(
            session, order_ids=order_ids, customer_id=None, after=None, limit=limit
        ):
            out[ret.order_id].append(await return_out(session, ret))
    return out
