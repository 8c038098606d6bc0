"""What a price needs from other domains' records, read here and passed to pricing as plain
arguments: the pickup store's price zone (inventory's `locations.zone`), the customer's
loyalty tier (loyalty) and whether they have not ordered yet (orders). Pricing, beside or
below those domains, reads none of them; the API caller never states them.

Used by the quote endpoint (`POST /v1/pricing/quote`, `quote_request`), by the place-order
flow, and by the cart endpoints (carts are priced live inside orders).

Decision — one fulfillment, one zone rule: the quote checks its `fulfillment` and prices
with orders' own functions (`resolve_destination`, `price_basket`), the very ones an order
uses, so a quote and the order that follows it (any channel, a kiosk's home delivery
included) agree on the zone, the fee and the total, and refuse the same choices alike.

Decision — carts: a cart endpoint's controller asks this flow for the facts of the cart's
customer (`cart_facts`: one read of the cart's owner, then the tier and first order; or
`customer_facts` when the request names the customer) and passes them to the orders cart
use case, which prices with them only if they are still the cart's customer's
(`CustomerFacts.of`): a cart that changed hands in between is priced without facts, never
with another customer's. This keeps orders free of loyalty (the import contract) without a
hook, at the cost of one extra indexed read per cart request.

Reads only; runs in the caller's transaction (or autocommit session).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.fulfillment_choice import FulfillmentOut
from app.core.settings import get_settings
from app.customers import service as customers
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound
from app.loyalty import service as loyalty
from app.orders import service as orders
from app.orders.errors import CurrencyMismatch, LinesOrCart
from app.orders.schemas import OrderCreate
from app.pricing import service as pricing
from app.pricing.schemas import QuoteRequest


async def quote_request(
    session: AsyncSession, principal: Principal, data: QuoteRequest, token: str | None
) -> tuple[pricing.Quote, FulfillmentOut | None]:
    """`POST /v1/pricing/quote`: lines or a saved cart, for a customer the caller may act for,
    to a destination checked as an order checks it; the zone by the order's own rule."""
    basket = await _basket(session, principal, data, token)
    facts = await callers_customer_facts(session, principal, basket.customer_id, token)
    destination = None
    if data.fulfillment is not None:
        destination = await orders.resolve_destination(
            session, principal, data.fulfillment, basket.customer_id, for_order=False
        )
    channel = principal.channel.value if principal.channel else None
    quoted = await orders.price_basket(
        session, basket, channel=channel, destination=destination, zone=data.zone, facts=facts
    )
    return quoted, destination.out() if destination is not None else None


async def quote(session: AsyncSession, principal: Principal, data: QuoteRequest, token: str | None) -> pricing.Quote:
    """The quote alone, as `POST /v1/pricing/quote` prices it (the console's order form)."""
    return (await quote_request(session, principal, data, token))[0]


async def _basket(session: AsyncSession, principal: Principal, data: QuoteRequest, token: str | None) -> orders.Basket:
    if (data.cart_id is None) == (data.lines is None):
        raise LinesOrCart("send either cart_id or lines")
    customer_id = data.customer.id if data.customer else None
    if data.cart_id is None:
        lines: dict[str, int] = {}
        for line in data.lines or []:
            lines[line.sku] = lines.get(line.sku, 0) + line.quantity
        currency = data.currency or get_settings().currency
        return orders.Basket(currency=currency, lines=lines, codes=list(data.codes), customer_id=customer_id)
    basket = await orders.cart_basket(session, principal, data.cart_id, token, data.codes)
    if data.currency is not None and data.currency != basket.currency:
        raise CurrencyMismatch(f"the cart is in {basket.currency}", field="currency")
    if customer_id is not None and customer_id != basket.customer_id:
        raise LinesOrCart("a cart is quoted for its own customer: leave `customer` out", field="customer")
    return basket


async def price_zone(session: AsyncSession, *, zone: str | None, store: str | None) -> str:
    """The explicit zone, else the store's, else `default` (a variant's price at a kiosk)."""
    if zone is not None or store is None:
        return await pricing.resolve_zone(session, zone=zone)
    try:
        location = await inventory.get_location(session, store)
    except LocationNotFound:
        return pricing.DEFAULT_ZONE
    return location.zone or pricing.DEFAULT_ZONE


async def callers_customer_facts(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID | None, token: str | None
) -> pricing.CustomerFacts:
    """A quote's facts for the customer it names: a storefront key must hold that customer's
    token (403 otherwise), or a tier-only promotion would tell it any customer's tier."""
    if customer_id is not None:
        await customers.authorize_customer_access(session, principal, customer_id, token)
    return await customer_facts(session, customer_id)


async def customer_facts(session: AsyncSession, customer_id: uuid.UUID | None) -> pricing.CustomerFacts:
    """A known customer's tier (loyalty) and first order (orders: none placed yet, cancelled
    ones count); a guest, or an id the OMS does not know, has none. A merged-away id reads
    its survivor's facts (the cart and order use cases price the survivor)."""
    if customer_id is None:
        return pricing.GUEST
    survivor = await customers.resolve_customer_id(session, customer_id)
    if survivor is None:
        return pricing.GUEST
    tier = (await loyalty.balance_for_customer(session, survivor)).tier
    first_order = not await orders.has_orders(session, survivor)
    return pricing.CustomerFacts(customer_id=survivor, loyalty_tier=tier, first_order=first_order)


async def cart_facts(session: AsyncSession, cart_id: uuid.UUID) -> pricing.CustomerFacts:
    """The facts of the customer a cart belongs to (none for an anonymous cart)."""
    return await customer_facts(session, await orders.cart_customer(session, cart_id))


async def order_facts(session: AsyncSession, data: OrderCreate) -> pricing.CustomerFacts:
    """The facts of the customer an order is placed for: the cart's, else the one named."""
    if data.cart_id is not None:
        return await cart_facts(session, data.cart_id)
    return await customer_facts(session, data.customer_id)
