"""How the shopper gets the goods: one shape, taken the same way by the quote
(`POST /v1/pricing/quote`) and the order (`POST /v1/orders`), and answered the same way.

    {"method": "delivery", "address": {"line1": ..., "city": ..., "postal_code": ..., "country": "DE"}}
    {"method": "delivery", "address_id": "<one of the customer's saved addresses>"}
    {"method": "pickup", "location": "STORE-BERLIN"}

An API shape only (no rule): pricing reads it for the price zone and the delivery fee,
orders for where the goods go; the customers domain keeps the saved addresses.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from msgspec import Meta

from app.core.schema import Body, Code, Out

Line = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(min_length=1, max_length=100)]
CountryCode = Annotated[str, Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["DE"])]
PostalCode = Annotated[str, Meta(min_length=1, max_length=20, pattern="^[A-Za-z0-9 -]+$", examples=["10115"])]


class DeliveryAddress(Body):
    """A quote needs only `country` (and `postal_code` where zones go by postal area); an
    order also needs `line1` and `city` (422 `invalid_address` naming the missing field)."""

    country: CountryCode
    postal_code: PostalCode | None = None
    line1: Line | None = None
    line2: Line | None = None
    city: ShortText | None = None
    region: ShortText | None = None
    recipient: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    phone: Annotated[str, Meta(min_length=2, max_length=40)] | None = None
    # Where the parcel goes, for sourcing's "nearest location" (optional: without it,
    # sourcing ranks by the other criteria).
    latitude: Annotated[float, Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Meta(ge=-180, le=180)] | None = None


class Delivery(Body, tag="delivery", tag_field="method"):
    """Home delivery, to `address` or to the customer's saved address `address_id` (exactly
    one): the address picks the price zone and the zone's delivery fee applies."""

    address: DeliveryAddress | None = None
    address_id: uuid.UUID | None = None


class Pickup(Body, tag="pickup", tag_field="method"):
    """Pickup in a store (a kiosk or POS key: its own store): the store's price zone, no fee."""

    location: Code


FulfillmentChoice = Delivery | Pickup


class FulfillmentOut(Out):
    """The choice as the quote or order understood it: a saved address is answered with
    its content (and its id), a pickup with the store."""

    method: str
    location: str | None = None
    address: dict[str, Any] | None = None
    address_id: uuid.UUID | None = None
