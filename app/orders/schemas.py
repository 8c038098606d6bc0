"""What the carts and orders API takes and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from app.core.fulfillment_choice import FulfillmentChoice, FulfillmentOut
from app.core.money import CurrencyCode
from app.core.schema import MAX_SALE_QUANTITY, Body, Out, SaleQuantity
from app.orders.rules import HoldType, TenderKind

Sku = Annotated[str, Meta(min_length=1, max_length=64)]
PromoCode = Annotated[str, Meta(min_length=1, max_length=40)]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]
Amount = Annotated[int, Meta(gt=0, le=10**12, description="minor units of the order currency")]
MAX_LINES = 100
MAX_CODES = 10


class LineIn(Body):
    sku: Sku
    quantity: SaleQuantity


class CartCreate(Body):
    customer_id: uuid.UUID | None = None
    currency: CurrencyCode | None = None
    lines: Annotated[list[LineIn], Meta(max_length=MAX_LINES)] = msgspec.field(default_factory=list)
    codes: Annotated[list[PromoCode], Meta(max_length=MAX_CODES)] = msgspec.field(default_factory=list)


class LineQuantity(Body):
    quantity: Annotated[int, Meta(ge=0, le=MAX_SALE_QUANTITY, description="0 removes the line")]


class CodeIn(Body):
    code: PromoCode


class CartAssign(Body):
    customer_id: uuid.UUID


class Discount(Out):
    promotion_id: str
    code: str | None
    amount: int


class PricedLine(Out):
    sku: str
    quantity: int
    unit_price: int
    gross: int
    discounts: list[Discount]
    net: int


class CodeOut(Out):
    code: str
    applied: bool
    reason: str


class CartOut(Out):
    id: uuid.UUID
    status: str
    customer_id: uuid.UUID | None
    channel: str | None
    currency: str
    lines: list[PricedLine]
    codes: list[CodeOut]
    subtotal: int
    discount_total: int
    total: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    merged_into: uuid.UUID | None = None
    order_id: uuid.UUID | None = None


RawEmail = Annotated[str, Meta(min_length=3, max_length=320, examples=["ada@example.com"])]
RawPhone = Annotated[str, Meta(min_length=2, max_length=40, examples=["+49 30 1234567"])]


class ContactIn(Body):
    """Who to tell when the order is ready: a phone or an e-mail (or both), normalized like
    the customer record's (e-mail lower-cased, phone to E.164 with the default region).
    Required for a guest's pickup order (no customer) in every channel: the pickup notice
    must reach someone. Never logged; carried by the `fulfillment.pickup_ready` event."""

    email: RawEmail | None = None
    phone: RawPhone | None = None


class ContactOut(Out):
    email: str | None
    phone: str | None


class TenderIn(Body):
    kind: TenderKind
    amount: Amount
    card_token: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    provider: Annotated[str, Meta(min_length=1, max_length=40)] | None = None
    loyalty_card: Annotated[str, Meta(min_length=1, max_length=40)] | None = None


class OrderCreate(Body):
    """From a cart (`cart_id`) or from explicit `lines` (kiosk, contact center, POS).
    `fulfillment` has the quote's shape: `{"method": "delivery", "address": {...}}`,
    `{"method": "delivery", "address_id": <the customer's saved address>}` or
    `{"method": "pickup", "location": "STORE-X"}`; the price zone follows it exactly as in
    the quote (the pickup store's, else the delivery address's), whatever the channel."""

    fulfillment: FulfillmentChoice
    # They must sum to the order's total: an order whose total is 0 (a 100 % promotion) has none.
    tenders: Annotated[list[TenderIn], Meta(max_length=10)] = msgspec.field(default_factory=list)
    cart_id: uuid.UUID | None = None
    lines: Annotated[list[LineIn], Meta(max_length=MAX_LINES)] | None = None
    codes: Annotated[list[PromoCode], Meta(max_length=MAX_CODES)] = msgspec.field(default_factory=list)
    customer_id: uuid.UUID | None = None
    currency: CurrencyCode | None = None
    contact: ContactIn | None = None


class OrderLineOut(Out):
    line_no: int
    sku: str
    quantity: int
    unit_price: int
    discount: int
    line_total: int
    location_code: str
    cancelled_quantity: int
    fulfilled_quantity: int
    pricing: dict[str, Any]


class TenderOut(Out):
    id: uuid.UUID
    kind: str
    amount: int
    provider: str | None
    authorization_id: str | None
    captured: int
    released: int
    refunded: int


class HoldOut(Out):
    id: uuid.UUID
    type: str
    reason: str
    placed_by: uuid.UUID
    placed_channel: str | None
    placed_at: datetime
    lifted_by: uuid.UUID | None
    lifted_at: datetime | None
    lift_note: str | None


class OrderOut(Out):
    id: uuid.UUID
    number: str
    status: str
    channel: str
    store_code: str | None
    customer_id: uuid.UUID | None
    cart_id: uuid.UUID | None
    fulfillment: FulfillmentOut
    contact: ContactOut | None
    currency: str
    subtotal: int
    discount_total: int
    total: int
    codes: list[str]
    lines: list[OrderLineOut]
    tenders: list[TenderOut]
    holds: list[HoldOut]
    placed_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None


class OrderSummary(Out):
    id: uuid.UUID
    number: str
    status: str
    channel: str
    store_code: str | None
    customer_id: uuid.UUID | None
    fulfillment: str
    currency: str
    total: int
    placed_at: datetime


class CancelLine(Body):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    quantity: SaleQuantity


class CancelBody(Body):
    """No `lines`: cancel everything not yet fulfilled. With `lines`: only those quantities."""

    reason: Reason
    lines: Annotated[list[CancelLine], Meta(min_length=1, max_length=MAX_LINES)] | None = None


class HoldCreate(Body):
    type: HoldType
    reason: Reason


class HoldLift(Body):
    note: Reason | None = None


class TimelineEntryOut(Out):
    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor_key_id: uuid.UUID | None
    channel: str | None
    detail: dict[str, Any]
    at: datetime


OrderStatusFilter = Literal[
    "placed", "on_hold", "released_to_fulfillment", "partially_fulfilled", "fulfilled", "completed", "cancelled"
]
