"""Exchanges at a till: return units and take another variant at once (the exchange flow,
app/flows/exchange.py, runs these steps with the refund between them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock
from app.core.auth import Principal
from app.inventory import service as inventory
from app.inventory.errors import InsufficientStock, LocationNotFound
from app.orders.returns import repository, rules
from app.orders.returns.errors import (
    ExchangePaymentRequired,
    ExchangeStockShort,
    UnknownSku,
)
from app.orders.returns.models import Return
from app.orders.returns.schemas import ExchangeCreate, ReturnLineIn
from app.orders.returns.usecases.common import OrderView, accepting, move, step, store_of
from app.orders.returns.usecases.lifecycle import eligibility, open_return, receive_goods, take, wanted_lines
from app.orders.returns.usecases.refunds import value_lines
from app.orders.usecases.common import channel_of
from app.pricing import service as pricing


@dataclass
class Exchange:
    """An exchange written up to the money: the units came back, the replacement left the
    shelf. `back` is what the customer gets back (a negative difference); `before` the
    return's status before the refund step."""

    ret: Return
    data: ExchangeCreate
    store: str
    before: str
    credit: int
    new_price: int
    even: bool
    difference: int

    @property
    def back(self) -> int:
        # Only a negative difference is money back: the credit itself paid for the replacement.
        return max(-self.difference, 0)


async def till(session: AsyncSession, principal: Principal, location_code: str | None) -> str:
    """The store whose till takes the exchange (it must accept returns)."""
    return await accepting(session, store_of(principal, location_code))


async def exchange(
    session: AsyncSession, principal: Principal, data: ExchangeCreate, view: OrderView, store: str
) -> Exchange:
    """Return units of a line (received at `store`) and hand over `new_sku` from its shelf."""
    order = view.order
    wanted = wanted_lines(view, [ReturnLineIn(line_no=data.line_no, quantity=data.quantity)])
    overridden = eligibility(view, wanted, principal, data.override_reason)
    new = (await catalog.variant_facts(session, [data.new_sku])).get(data.new_sku)
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
        else data.quantity * await _price_today(session, data.new_sku, order.currency, store, channel_of(principal))
    )
    difference = rules.exchange_difference(credit, new_price)
    if difference > 0 and data.paid_by is None:
        raise ExchangePaymentRequired(f"the customer pays {difference} more: send paid_by", difference=difference)
    if not await _hand_over(session, f"exchange:{ret.number}", data.new_sku, store, data.quantity, principal):
        raise ExchangeStockShort(f"{data.new_sku} is not available at {store}", sku=data.new_sku, location=store)
    return Exchange(ret, data, store, before, credit, new_price, even, difference)


async def record_exchange(session: AsyncSession, principal: Principal, ex: Exchange) -> None:
    """The exchange's row, its step on the order's timeline and `return.exchanged` (after the
    money went back)."""
    data = ex.data
    await repository.insert_exchange(
        session,
        {
            "return_id": ex.ret.id,
            "sku": data.new_sku,
            "quantity": data.quantity,
            "credit": ex.credit,
            "new_price": ex.new_price,
            "even": ex.even,
            "difference": ex.difference,
            "paid_by": data.paid_by if ex.difference > 0 else None,
            "location_code": ex.store,
            "created_at": clock.now(),
        },
    )
    await step(
        session,
        principal,
        ex.ret,
        "exchanged",
        ex.before,
        new_sku=data.new_sku,
        quantity=data.quantity,
        credit=ex.credit,
        new_price=ex.new_price,
        difference=ex.difference,
        even=ex.even,
    )


async def _price_today(session: AsyncSession, sku: str, currency: str, store: str, channel: str | None) -> int:
    """The replacement's price at this store today (one unit, no codes), in the store's zone."""
    try:
        zone = (await inventory.get_location(session, store)).zone or pricing.DEFAULT_ZONE
    except LocationNotFound:
        zone = pricing.DEFAULT_ZONE
    quote = await pricing.quote(
        session,
        pricing.QuoteInput(currency=currency, lines=(pricing.QuoteLine(sku, 1),), zone=zone, codes=(), channel=channel),
    )
    return int(quote.result.lines[0].net)


async def _hand_over(
    session: AsyncSession, reference: str, sku: str, store: str, units: int, principal: Principal
) -> bool:
    """The replacement leaves the store's shelf: reserved and consumed at once (a `sale`
    ledger row). False when the store does not have it available."""
    try:
        await inventory.reserve(session, reference=reference, lines=[(sku, store, units)], actor=principal.key_id)
    except InsufficientStock:
        return False
    await inventory.consume(session, reference=reference, actor=principal.key_id, ledger_reference=reference)
    return True
