"""An exchange at a till — return units of a line and take another variant at once: orders'
returns, fulfilment (what reached the customer), inventory (the units back in, the
replacement off the shelf), pricing (today's price of the replacement) and loyalty.

Transaction boundary: the caller's (the request's `db_session`); nothing here commits; card
refunds go to the gateway after the commit (nothing to compensate).

Lock order: the order row (`returns.find_order(lock=True)`) → the return and the order's
return totals → the stock rows (the returned units, then the replacement's reserve and
consume at the till's store) → the loyalty card (a negative difference is refunded).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.flows.return_and_refund import delivered_lines, pay_back
from app.orders.returns import service as returns
from app.orders.returns.schemas import ExchangeCreate, ReturnOut


async def create_exchange(session: AsyncSession, principal: Principal, data: ExchangeCreate) -> ReturnOut:
    store = await returns.till(session, principal, data.location_code)
    order = await returns.find_order(session, principal, data.order_id, data.order_number, None, lock=True)
    view = await returns.order_view(session, order, await delivered_lines(session, [order.id]))
    ex = await returns.exchange(session, principal, data, view, store)
    back = [(data.line_no, ex.back)] if ex.back else []
    await pay_back(session, principal, order, ex.ret, back, money=ex.back, delivery=0)
    await returns.record_exchange(session, principal, ex)
    return await returns.return_out(session, ex.ret)
