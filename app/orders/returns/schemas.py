"""What the returns API takes and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from app.core.schema import Body, Code, Out, SaleQuantity
from app.orders.returns.rules import Disposition, Mode

LineNo = Annotated[int, Meta(ge=1, le=10_000)]
OrderNumber = Annotated[str, Meta(min_length=1, max_length=20)]
Why = Annotated[str, Meta(min_length=1, max_length=500)]
Sku = Annotated[str, Meta(min_length=1, max_length=64)]
Days = Annotated[int, Meta(ge=0, le=3650)]


class ReturnLineIn(Body):
    line_no: LineNo
    quantity: SaleQuantity
    disposition: Annotated[
        Disposition | None,
        Meta(
            description="Required when `mode` is `immediate` (the till decides now: `restock` or `damaged`; "
            "422 `receipt_mismatch` names the lines without one). Not used by `authorization` returns: "
            "the receiving location gives each line's disposition at `POST /v1/returns/{id}/receive`."
        ),
    ] = None


class ReturnCreate(Body):
    """Find the purchase by `order_id` or by the receipt's `order_number` (exactly one).
    `mode=authorization` (web, contact center: the customer posts it back) or
    `immediate` (at a store's till: received and refunded at once; every line names its
    disposition). `override_reason` (admin keys only) lets lines outside their window or
    of non-returnable products come back; it is recorded."""

    lines: Annotated[list[ReturnLineIn], Meta(min_length=1, max_length=200)]
    reason: Why
    order_id: uuid.UUID | None = None
    order_number: OrderNumber | None = None
    mode: Mode = Mode.AUTHORIZATION
    # An admin acting at a store's till names the store (POS keys: their own store).
    location_code: Code | None = None
    override_reason: Why | None = None


class ReceiveLineIn(Body):
    line_no: LineNo
    quantity: SaleQuantity
    disposition: Disposition


class ReceiveBody(Body):
    """The goods arrived at `location_code` (POS and logistics keys: their own location).
    Per line, dispositions that add up to the returned quantity (a line may be split:
    one unit restocked, one damaged)."""

    lines: Annotated[list[ReceiveLineIn], Meta(min_length=1, max_length=400)]
    location_code: Code | None = None


class CloseBody(Body):
    reason: Why


class ExchangeCreate(Body):
    """Return `quantity` units of an order line and take `new_sku` instead, at once, at a
    store. Same product (another size or colour): priced at what was paid for the returned
    units (an even exchange). Another product: today's price; the difference is paid at the
    till (`paid_by`) or refunded to the original tenders."""

    line_no: LineNo
    quantity: SaleQuantity
    new_sku: Sku
    reason: Why
    order_id: uuid.UUID | None = None
    order_number: OrderNumber | None = None
    disposition: Disposition = Disposition.RESTOCK
    location_code: Code | None = None
    paid_by: Literal["cash", "card"] | None = None
    override_reason: Why | None = None


class PolicyBody(Body):
    days: Days


class PolicyOut(Out):
    category_code: str
    days: int
    updated_at: datetime


class ReturnLineOut(Out):
    line_no: int
    sku: str
    quantity: int
    restocked: int
    damaged: int
    refund_amount: int
    overridden: str | None


class RefundOut(Out):
    id: uuid.UUID
    tender_id: uuid.UUID
    kind: str
    amount: int
    status: str


class ExchangeOut(Out):
    sku: str
    quantity: int
    credit: int
    new_price: int
    even: bool
    difference: int
    paid_by: str | None


class ReturnOut(Out):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    mode: str
    status: str
    channel: str | None
    location_code: str | None
    reason: str
    override_reason: str | None
    currency: str
    lines: list[ReturnLineOut]
    refunds: list[RefundOut]
    refund_total: int
    delivery_refund: int
    points_reversed: Annotated[
        int,
        Meta(
            description="Loyalty points this return has taken back from the card so far: includes points "
            "earned after the refund (the till refunded before the sale's points arrived; they are "
            "reversed on arrival)."
        ),
    ]
    points_shortfall: int
    exchange: ExchangeOut | None
    allowed_actions: list[str]
    created_at: datetime
    updated_at: datetime
    received_at: datetime | None
    refunded_at: datetime | None
    closed_at: datetime | None


class ReturnableLineOut(Out):
    order_id: uuid.UUID
    order_number: str
    line_no: int
    sku: str
    quantity: int
    cancelled: int
    delivered: int
    returned: int
    returnable_quantity: int
    # What the next unit back refunds, and all returnable units together.
    next_unit_refund: int
    refundable_amount: int
    delivered_at: datetime | None
    window_closes_at: datetime | None
    eligible: bool
    reason: str | None


class ReturnableOut(Out):
    order_id: uuid.UUID
    order_number: str
    channel: str
    currency: str
    lines: list[ReturnableLineOut]


class CustomerReturnableOut(Out):
    customer_id: uuid.UUID
    lines: list[ReturnableLineOut]
