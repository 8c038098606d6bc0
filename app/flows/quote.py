"""What a price needs from other domains' records, read here and passed to pricing as plain
arguments: the pickup store's price zone (inventory's `locations.zone`), the customer's
loyalty tier (loyalty) and whether they have not ordered yet (orders). Pricing, beside or
below those domains, reads none of them; the API caller never states them.

Used by the quote endpoint (`POST /v1/pricing/quote`, and the console's order form, which
shows the caller the same quote: `quote`), by the place-order flow, and by the cart
endpoints (carts are priced live inside orders).

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
from app.customers import service as customers
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound
from app.loyalty import service as loyalty
from app.orders import service as orders
from app.orders.schemas import OrderCreate
from app.pricing import service as pricing
from app.pricing.schemas import DeliveryChoice, PickupChoice, QuoteRequest


async def price_zone(session: AsyncSession, *, zone: str | None, store: str | None) -> str:
    """The explicit zone, else the pickup store's, else `default`."""
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


async def quote(session: AsyncSession, principal: Principal, data: QuoteRequest, token: str | None) -> pricing.Quote:
    """A quote as `POST /v1/pricing/quote` answers it: the zone is the explicit one, else the
    pickup store's, else the delivery address's; the customer's facts are the records'."""
    choice = data.fulfillment
    zone: str | pricing.ZoneAddress
    if data.zone is None and isinstance(choice, DeliveryChoice):
        zone = pricing.ZoneAddress(choice.country, choice.postal_code)  # resolved within the quote's statement
    else:
        store = choice.location_code if isinstance(choice, PickupChoice) else None
        zone = await price_zone(session, zone=data.zone, store=store)
    customer_id = data.customer.id if data.customer else None
    # The records' facts, not the caller's; a storefront names only its own shopper (token).
    facts = await callers_customer_facts(session, principal, customer_id, token)
    return await pricing.quote(
        session,
        pricing.QuoteInput(
            currency=data.currency,
            lines=tuple(pricing.QuoteLine(line.sku, line.quantity) for line in data.lines),
            zone=zone,
            codes=tuple(data.codes),
            customer_id=customer_id,
            loyalty_tier=facts.loyalty_tier,
            first_order=facts.first_order,
            channel=principal.channel.value if principal.channel else None,
            home_delivery=isinstance(choice, DeliveryChoice),
        ),
    )
