"""What the customers API takes and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.core.money import Money
from app.core.schema import Body, Name, Out, stated
from app.customers.rules import COUNTRY_CODES, EMAIL_PATTERN, MAX_ADDRESSES, MAX_EMAIL_LENGTH

Line = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(min_length=1, max_length=100)]
# Raw contacts as typed or heard; normalized (and validated) by the service.
# The service trims, checks and answers 422 `invalid_email` naming the field; the schema states
# the same shape and length (an address already trimmed).
EMAIL = stated(pattern=EMAIL_PATTERN, maxLength=MAX_EMAIL_LENGTH)
RawEmail = Annotated[str, Meta(min_length=3, max_length=320, examples=["Ada@Example.com"], extra_json_schema=EMAIL)]
RawPhone = Annotated[str, Meta(min_length=2, max_length=40, examples=["030 1234567", "+49 30 1234567"])]
# `Address.__post_init__` refuses a code outside the list; the schema lists the same codes.
CountryCode = Annotated[
    str,
    Meta(
        pattern="^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2",
        examples=["DE"],
        extra_json_schema=stated(enum=sorted(COUNTRY_CODES)),
    ),
]


class Address(Body):
    line1: Line
    city: ShortText
    country: CountryCode
    label: Annotated[str, Meta(min_length=1, max_length=40, examples=["home"])] | None = None
    recipient: Name | None = None
    line2: Line | None = None
    postal_code: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    region: ShortText | None = None

    def __post_init__(self) -> None:
        if self.country not in COUNTRY_CODES:
            raise ValueError(f"country {self.country} is not an ISO 3166-1 alpha-2 code")


Addresses = Annotated[list[Address], Meta(max_length=MAX_ADDRESSES)]


class SavedAddressOut(Out):
    """A saved address; its `id` is what an order's `{"method": "delivery", "address_id"}` names."""

    id: uuid.UUID
    line1: str
    city: str
    country: str
    label: str | None = None
    recipient: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    region: str | None = None


class CustomerCreate(Body):
    name: Name
    email: RawEmail | None = None
    phone: RawPhone | None = None
    addresses: Addresses = msgspec.field(default_factory=list)
    marketing_consent: bool = False


class CustomerUpdate(Body):
    """Only the fields sent change; `addresses` replaces the whole list; null clears email/phone."""

    name: Name | UnsetType = UNSET
    email: RawEmail | UnsetType | None = UNSET
    phone: RawPhone | UnsetType | None = UNSET
    addresses: Addresses | UnsetType = UNSET
    marketing_consent: bool | UnsetType = UNSET


class CustomerOut(Out):
    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    card_number: str
    addresses: list[SavedAddressOut]
    marketing_consent: bool
    marketing_consent_at: datetime | None
    source_channel: str | None
    # Records merged into this one (their ids, cards and contacts resolve here).
    merged_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class MergeBody(Body):
    absorb: uuid.UUID


class CustomerSessionCreate(Body):
    """Exactly one of email or phone: the shopper the storefront has just logged in."""

    email: RawEmail | None = None
    phone: RawPhone | None = None


class CustomerTokenOut(Out):
    customer_id: uuid.UUID
    token: str
    expires_at: datetime


class HistoryEntry(Out):
    """One line of the contact-center history (an order, a return...) from any channel."""

    kind: Annotated[str, Meta(examples=["order"])]
    id: str
    occurred_at: datetime
    number: str | None = None
    channel: str | None = None
    status: str | None = None
    total: Money | None = None


class LoyaltyBalance(Out):
    points: int = 0
    tier: str | None = None


class CustomerOverview(Out):
    customer: CustomerOut
    loyalty: LoyaltyBalance
    history: list[HistoryEntry]
