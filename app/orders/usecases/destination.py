"""What the quote and the order share, so that both take the same `fulfillment` and price
the same basket the same way: where the goods go (`resolve_destination`), what a saved cart
holds (`cart_basket`), and the price of a basket for a destination (`price_basket`).

The quote flow (app/flows/quote.py) calls these for `POST /v1/pricing/quote`; placement
(`placement.py`) for `POST /v1/orders`. Reads only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.fulfillment_choice import Delivery, FulfillmentChoice, FulfillmentOut
from app.customers import service as customers
from app.orders import repository, rules
from app.orders.errors import CartNotFound, ContactRequired, InvalidAddress, PickupNotOffered, UnknownLocation
from app.orders.schemas import ContactIn
from app.orders.usecases import common
from app.pricing import service as pricing

# What an order's delivery address must hold beyond the country a quote needs.
_ORDER_ADDRESS_FIELDS = ("line1", "city")


@dataclass(frozen=True)
class Destination:
    """Where the goods go, checked: a pickup store that offers pickup (a kiosk or POS key:
    its own), or a delivery address (a saved one as saved, with its `id`)."""

    method: rules.Fulfillment
    pickup_location: str | None = None
    address: dict[str, Any] | None = None

    def out(self) -> FulfillmentOut:
        return common.fulfillment_out(self.method.value, self.pickup_location, self.address)


async def resolve_destination(
    session: AsyncSession,
    principal: Principal,
    choice: FulfillmentChoice,
    customer_id: uuid.UUID | None,
    *,
    for_order: bool,
) -> Destination:
    """The same checks and answers for a quote and an order; an order's inline address must
    also be complete enough to deliver to (`for_order`). `customer_id`: whose saved address
    `address_id` may name (the caller already checked it may act for them)."""
    if isinstance(choice, Delivery):
        return Destination(rules.Fulfillment.DELIVERY, address=await _address(session, choice, customer_id, for_order))
    # A kiosk or POS key acts for its own store only.
    principal.require_location(choice.location)
    store = await common.location_or_none(session, choice.location)
    if store is None:
        raise UnknownLocation(f"no location {choice.location}", field="fulfillment.location")
    if not store.pickup or not getattr(store, "active", True):
        raise PickupNotOffered(f"{store.code} does not offer pickup", location=store.code)
    return Destination(rules.Fulfillment.PICKUP, pickup_location=store.code)


async def _address(
    session: AsyncSession, choice: Delivery, customer_id: uuid.UUID | None, for_order: bool
) -> dict[str, Any]:
    if (choice.address is None) == (choice.address_id is None):
        raise InvalidAddress("home delivery needs either an address or an address_id", field="fulfillment.address")
    if choice.address_id is not None:
        if customer_id is None:
            raise InvalidAddress("a saved address needs the customer it belongs to", field="fulfillment.address_id")
        return await customers.saved_address(session, customer_id, choice.address_id)
    address: dict[str, Any] = msgspec.to_builtins(choice.address)
    missing = [name for name in _ORDER_ADDRESS_FIELDS if for_order and not address.get(name)]
    if missing:
        raise InvalidAddress(f"a delivery address needs {missing[0]}", field=f"fulfillment.address.{missing[0]}")
    return address


def order_contact(
    contact: ContactIn | None, customer_id: uuid.UUID | None, destination: Destination
) -> dict[str, str] | None:
    """The order's contact, normalized. A guest's pickup order (no customer record to reach)
    needs one in every channel, or nobody can be told it is ready."""
    given = customers.normalized_contact(contact.email, contact.phone) if contact is not None else {}
    if not given and customer_id is None and destination.method == rules.Fulfillment.PICKUP:
        raise ContactRequired("a guest's pickup order needs contact.phone or contact.email", field="contact")
    return given or None


@dataclass(frozen=True)
class Basket:
    """Lines and codes to price, for a customer (or a guest), in a currency."""

    currency: str
    lines: dict[str, int]
    codes: list[str] = field(default_factory=list)
    customer_id: uuid.UUID | None = None
    # The kiosk or till a cart was filled at (its zone prices a cart with no destination).
    store: str | None = None


async def cart_basket(
    session: AsyncSession, principal: Principal, cart_id: uuid.UUID, token: str | None, codes: Sequence[str] = ()
) -> Basket:
    """A saved cart's lines and codes (plus `codes`), for a caller allowed to read the cart:
    the cart's customer's rule (a storefront key: with that customer's token)."""
    cart = await repository.cart(session, cart_id)
    if cart is None:
        raise CartNotFound(f"no cart {cart_id}")
    if cart.customer_id is not None:
        await customers.authorize_customer_access(session, principal, cart.customer_id, token)
    lines = await repository.cart_lines(session, cart.id)
    return Basket(
        currency=cart.currency,
        lines=dict(lines),
        codes=list(dict.fromkeys([*cart.codes, *codes])),
        customer_id=cart.customer_id,
        store=cart.location_code,
    )


async def price_basket(
    session: AsyncSession,
    basket: Basket,
    *,
    channel: str | None,
    destination: Destination | None,
    zone: str | None = None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> pricing.Quote:
    """The one zone rule (`common.quote`): explicit zone, else the pickup store's, else the
    delivery address's; with no destination, the cart's store, else `default`."""
    store = destination.pickup_location if destination is not None else basket.store
    address = destination.address if destination is not None else None
    return await common.quote(
        session,
        currency=basket.currency,
        lines=basket.lines,
        codes=basket.codes,
        customer_id=basket.customer_id,
        channel=channel,
        store=store,
        address=address,
        facts=facts,
        zone=zone,
    )
