"""Exchanges at a till: return units and take another variant at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.orders.returns import neighbours, repository, rules
from app.orders.returns.errors import (
    ExchangePaymentRequired,
    ExchangeStockShort,
    UnknownSku,
)
from app.orders.returns.schemas import (
    ExchangeCreate,
    ReturnLineIn,
    ReturnOut,
)
from app.orders.returns.usecases.common import accepting, find_order, move, order_view, return_out, step, store_of
from app.orders.returns.usecases.lifecycle import eligibility, open_return, receive_goods, take, wanted_lines
from app.orders.returns.usecases.refunds import pay_back, value_lines
from app.orders.usecases.common import channel_of


async def create_exchange(session: AsyncSession, principal: Principal, data: ExchangeCreate) -> ReturnOut:
    """Return units of a line and hand over `new_sku` at once, at a store's till."""
    store = await accepting(session, store_of(principal, data.location_code))
    order = await find_order(session, principal, data.order_id, data.order_number, None, lock=True)
    view = await order_view(session, order)
    wanted = wanted_lines(view, [ReturnLineIn(line_no=data.line_no, quantity=data.quantity)])
    overridden = eligibility(view, wanted, principal, data.override_reason)
    new = (await neighbours.product_facts(session, [data.new_sku])).get(data.new_sku)
    if new is None:
        raise UnknownSku(f"no variant {data.new_sku}", field="new_sku")
    await take(session, view, wanted)
    ret = await open_return(
        session,
        principal,
        view,
        wanted,
        mode=rules.Mode.IMMEDIATE,
        reason=data.reason,
        override=data.override_reason,
        overridden=overridden,
    )
    await receive_goods(session, principal, order, ret, store, [(data.line_no, data.quantity, data.disposition)])
    before = move(ret, rules.Action.REFUND)
    lines, _, _ = await value_lines(session, order, ret)
    credit = sum(ln.refund_amount for ln in lines)
    old = view.products.get(view.lines[data.line_no].sku)
    even = old is not None and old.product_id == new.product_id
    new_price = (
        credit
        if even
        else data.quantity
        * await neighbours.price_today(session, data.new_sku, order.currency, store, channel_of(principal))
    )
    difference = rules.exchange_difference(credit, new_price)
    if difference > 0 and data.paid_by is None:
        raise ExchangePaymentRequired(f"the customer pays {difference} more: send paid_by", difference=difference)
    if not await neighbours.hand_over(
        session, f"exchange:{ret.number}", data.new_sku, store, data.quantity, principal.key_id
    ):
        raise ExchangeStockShort(f"{data.new_sku} is not available at {store}", sku=data.new_sku, location=store)
    # Only a negative difference is money back: the credit itself paid for the replacement.
    back = max(-difference, 0)
    await pay_back(session, principal, order, ret, [(data.line_no, back)] if back else [], back, 0)
    await repository.insert_exchange(
        session,
        {
            "return_id": ret.id,
            "sku": data.new_sku,
            "quantity": data.quantity,
            "credit": credit,
            "new_price": new_price,
            "even": even,
            "difference": difference,
            "paid_by": data.paid_by if difference > 0 else None,
            "location_code": store,
            "created_at": clock.now(),
        },
    )
    await step(
        session,
        principal,
        ret,
        "exchanged",
        before,
        new_sku=data.new_sku,
        quantity=data.quantity,
        credit=credit,
        new_price=new_price,
        difference=difference,
        even=even,
    )
    return await return_out(session, ret)
