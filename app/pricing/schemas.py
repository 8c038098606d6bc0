"""What the pricing HTTP API takes and returns. Money: integer minor units; percentages:
basis points (2000 = 20 %); times: ISO 8601 with an offset."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.core.auth import Channel
from app.core.fulfillment_choice import FulfillmentChoice, FulfillmentOut
from app.core.money import CurrencyCode, MinorUnits, UnitPrice
from app.core.schema import Body, Code, Name, Out, SaleQuantity
from app.pricing.rules import Kind, Reason

Sku = Annotated[str, Meta(min_length=1, max_length=64)]
AwareTime = Annotated[datetime, Meta(tz=True)]
Country = Annotated[str, Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["DE"])]
PostalPrefix = Annotated[str, Meta(max_length=20, pattern="^[A-Za-z0-9 -]*$")]
CouponCode = Annotated[
    str, Meta(min_length=1, max_length=40, pattern="^[A-Za-z0-9][A-Za-z0-9_-]*$", description="case-insensitive")
]
OfferedCode = Annotated[str, Meta(min_length=1, max_length=40)]
BasisPoints = Annotated[int, Meta(ge=0, le=10_000, description="basis points: 2000 = 20 %")]
Count = Annotated[int, Meta(ge=0, le=1_000_000)]
Limit = Annotated[int, Meta(gt=0, le=1_000_000_000)]
Priority = Annotated[int, Meta(ge=-1000, le=1000, description="higher applies first")]

# ---- zones -------------------------------------------------------------------------------


class DeliveryFeeIn(Body):
    currency: CurrencyCode
    amount: UnitPrice


class ZoneAreaIn(Body):
    country: Country
    postal_prefix: PostalPrefix = ""  # empty: the whole country


class PriceZoneCreate(Body):
    code: Code
    name: Name
    delivery_fees: Annotated[list[DeliveryFeeIn], Meta(max_length=50)] = msgspec.field(default_factory=list)
    areas: Annotated[list[ZoneAreaIn], Meta(max_length=5000)] = msgspec.field(default_factory=list)


class PriceZoneUpdate(Body):
    """Given lists replace the zone's lists."""

    name: Name | UnsetType = UNSET
    delivery_fees: Annotated[list[DeliveryFeeIn], Meta(max_length=50)] | UnsetType = UNSET
    areas: Annotated[list[ZoneAreaIn], Meta(max_length=5000)] | UnsetType = UNSET


class DeliveryFeeOut(Out):
    currency: str
    amount: int


class ZoneAreaOut(Out):
    country: str
    postal_prefix: str


class PriceZoneOut(Out):
    code: str
    name: str
    delivery_fees: list[DeliveryFeeOut]
    areas: list[ZoneAreaOut]
    created_at: datetime


# ---- prices ------------------------------------------------------------------------------


class PriceCreate(Body):
    sku: Sku
    currency: CurrencyCode
    amount: UnitPrice
    compare_at_amount: UnitPrice | None = None
    zone: Code = "default"
    valid_from: AwareTime | None = None  # default: now; never in the past


class PriceOut(Out):
    id: uuid.UUID
    sku: str
    zone: str
    currency: str
    amount: int
    compare_at_amount: int | None
    valid_from: datetime
    created_at: datetime


# ---- promotions --------------------------------------------------------------------------


class TargetIn(Body):
    """Lines the promotion looks at (any match); all empty: the whole cart."""

    skus: Annotated[list[Sku], Meta(max_length=1000)] = msgspec.field(default_factory=list)
    products: Annotated[list[uuid.UUID], Meta(max_length=1000)] = msgspec.field(default_factory=list)
    categories: Annotated[list[Code], Meta(max_length=200)] = msgspec.field(default_factory=list)


class TierIn(Body):
    threshold: Annotated[int, Meta(gt=0, le=10**15)]
    amount: Annotated[int, Meta(gt=0, le=10**15)]


class PromotionFields(Body):
    """Everything a promotion says, except its kind (create: PromotionCreate)."""

    name: Name | UnsetType = UNSET
    starts_at: AwareTime | UnsetType = UNSET
    ends_at: AwareTime | UnsetType | None = UNSET
    priority: Priority | UnsetType = UNSET
    combinable: bool | UnsetType = UNSET
    requires_code: bool | UnsetType = UNSET
    currency: CurrencyCode | UnsetType | None = UNSET
    percent_bp: BasisPoints | UnsetType = UNSET
    amount: MinorUnits | UnsetType = UNSET
    fixed_price: UnitPrice | UnsetType = UNSET
    buy_quantity: Annotated[int, Meta(ge=0, le=1000)] | UnsetType = UNSET
    get_quantity: Annotated[int, Meta(ge=0, le=1000)] | UnsetType = UNSET
    reward_percent_bp: Annotated[int, Meta(gt=0, le=10_000)] | UnsetType = UNSET
    tiers: Annotated[list[TierIn], Meta(max_length=20)] | UnsetType = UNSET
    target: TargetIn | UnsetType = UNSET
    min_subtotal: MinorUnits | UnsetType = UNSET
    min_quantity: Count | UnsetType = UNSET
    loyalty_tiers: Annotated[list[Code], Meta(max_length=20)] | UnsetType = UNSET
    first_order_only: bool | UnsetType = UNSET
    channels: Annotated[list[Channel], Meta(max_length=5)] | UnsetType = UNSET
    usage_limit: Limit | UnsetType | None = UNSET
    usage_limit_per_customer: Limit | UnsetType | None = UNSET


class PromotionCreate(PromotionFields, kw_only=True):
    """`channels` restricts a promotion to some channels; leave it empty (the default):
    the same promotions everywhere is the point."""

    kind: Kind
    name: Name
    starts_at: AwareTime


class PromotionUpdate(PromotionFields):
    """PATCH: only the given fields change; the kind never does."""


class TargetOut(Out):
    skus: list[str]
    products: list[uuid.UUID]
    categories: list[str]


class TierOut(Out):
    threshold: int
    amount: int


class PromotionOut(Out):
    id: uuid.UUID
    name: str
    kind: Kind
    starts_at: datetime
    ends_at: datetime | None
    priority: int
    combinable: bool
    requires_code: bool
    currency: str | None
    percent_bp: int
    amount: int
    fixed_price: int
    buy_quantity: int
    get_quantity: int
    reward_percent_bp: int
    tiers: list[TierOut]
    target: TargetOut
    min_subtotal: int
    min_quantity: int
    loyalty_tiers: list[str]
    first_order_only: bool
    channels: list[str]
    usage_limit: int | None
    usage_limit_per_customer: int | None
    times_used: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class CodesCreate(Body):
    """Either one named `code` (multi-use: unlimited unless `max_uses`), or `generate` N
    unique random codes (single-use unless `max_uses`)."""

    code: CouponCode | None = None
    generate: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    prefix: Annotated[str, Meta(max_length=20, pattern="^[A-Za-z0-9_-]*$")] = ""
    max_uses: Limit | None = None


class PromotionCodeOut(Out):
    code: str
    promotion_id: uuid.UUID
    max_uses: int | None
    times_used: int


class CodesCreated(Out):
    promotion_id: uuid.UUID
    max_uses: int | None
    codes: list[str]


# ---- quote -------------------------------------------------------------------------------


class QuoteLineIn(Body):
    sku: Sku
    quantity: SaleQuantity


class CustomerIn(Body):
    """The customer to price for. Their tier and whether this is their first order come from
    the OMS's records (loyalty, orders), never from the caller; without an id: a guest."""

    id: uuid.UUID | None = None


class QuoteRequest(Body):
    """Lines to price (`lines`, in `currency`: default the service's), or a saved cart
    (`cart_id`: its lines, codes, customer and currency; the caller must be allowed to read
    the cart). `fulfillment` has the order's shape (`{"method": "delivery", "address": {...}}`,
    `{"method": "delivery", "address_id": ...}` — the customer's saved address —, or
    `{"method": "pickup", "location": "STORE-X"}`) and is checked and answered the same way."""

    currency: CurrencyCode | None = None
    lines: Annotated[list[QuoteLineIn], Meta(min_length=1, max_length=500)] | None = None
    cart_id: uuid.UUID | None = None
    # Any text a customer typed: a code that cannot exist is reported `unknown_code`, not refused.
    codes: Annotated[list[OfferedCode], Meta(max_length=20)] = msgspec.field(default_factory=list)
    customer: CustomerIn | None = None
    fulfillment: FulfillmentChoice | None = None
    zone: Code | None = None  # overrides the zone the fulfillment choice implies


class LineDiscountOut(Out):
    promotion_id: str
    code: str | None
    amount: int


class QuoteLineOut(Out):
    sku: str
    quantity: int
    unit_price: int
    compare_at_price: int | None
    gross: int
    discounts: list[LineDiscountOut]
    net: int


class PromotionDiscountOut(Out):
    promotion_id: str
    name: str
    code: str | None
    amount: int


class CodeOutcomeOut(Out):
    code: str
    applied: bool
    reason: Reason
    promotion_id: str | None


class PromiseGroupOut(Out):
    """One group of the order as sourcing would plan it now: where it comes from and when."""

    type: str  # delivery | pickup | ship_to_store (a transfer feeding the pickup)
    location: str
    skus: list[str]
    promised_by: date | None  # delivery: the earliest delivery day
    ready_by: datetime | None  # pickup, ship_to_store: ready for collection at the store


class FulfillmentPromiseOut(Out):
    """The delivery promise of the quote's fulfillment (README "Delivery promise")."""

    method: str  # delivery | pickup
    promised_by: date | None  # delivery: the day the last parcel arrives
    ready_by: datetime | None  # pickup: when all of it is ready for collection
    groups: list[PromiseGroupOut]
    unavailable: list[str]  # SKUs no location can serve now (no promise for them)


class QuoteOut(Out):
    currency: str
    zone: str
    priced_at: datetime
    # The fulfillment as understood (an order answers it the same way); the cart quoted.
    fulfillment: FulfillmentOut | None
    cart_id: uuid.UUID | None
    lines: list[QuoteLineOut]
    subtotal: int
    discounts: list[PromotionDiscountOut]
    discount_total: int
    delivery_fee: int
    delivery_discount: int
    delivery: int
    total: int
    codes: list[CodeOutcomeOut]
    # With a fulfillment choice: the earliest delivery day / pickup-ready time, per group.
    promise: FulfillmentPromiseOut | None = None


class PriceInForceOut(Out):
    """What a SKU costs now in a zone (the zone's own price, else the default zone's), and
    the next scheduled change, if any — not the history."""

    sku: str
    zone: str  # the zone asked for
    priced_in_zone: str  # the zone whose price applies (the asked zone's, or `default`)
    currency: str
    amount: int
    compare_at_amount: int | None
    valid_from: datetime
    next_amount: int | None
    next_valid_from: datetime | None
