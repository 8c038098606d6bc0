"""What the fulfillment API takes and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from app.core.schema import Body, Code, Out, Text
from app.fulfillment.rules import PlanDiff, SourcingRules

Sku = Annotated[str, Meta(min_length=1, max_length=64)]
BinCode = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]
Tracking = Annotated[str, Meta(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]*$")]
Found = Annotated[int, Meta(ge=0, le=1_000_000)]
RejectReason = Literal["no_staff", "item_damaged", "not_found"]
PickupCode = Annotated[str, Meta(min_length=1, max_length=12)]
OrderNumber = Annotated[str, Meta(min_length=1, max_length=20)]
CardNumber = Annotated[str, Meta(min_length=1, max_length=20)]
Phone = Annotated[str, Meta(min_length=3, max_length=32)]


# ---- sourcing rules -------------------------------------------------------------------------


class RuleVersionCreate(Body):
    rules: SourcingRules
    note: Text | None = None


class RuleVersionOut(Out):
    version: int
    rules: SourcingRules
    note: str | None
    created_at: datetime | None


class SimulationCreate(Body):
    rules: SourcingRules
    orders: Annotated[int, Meta(ge=1, le=2000)] = 200


class ChangedOrder(Out):
    order_id: uuid.UUID
    before: list[str]
    after: list[str]


class SimulationOut(Out):
    current_version: int | None
    totals: PlanDiff
    changed_examples: list[ChangedOrder]


class ReasonOut(Out):
    code: str
    detail: str


class CandidateOut(Out):
    location_code: str
    kind: str
    outcome: str
    distance_km: float | None
    cost: int | None
    reasons: list[ReasonOut]


class DecisionOut(Out):
    id: int
    order_id: uuid.UUID
    trigger: str
    rules_version: int | None
    split: bool
    summary: str
    assignments: list[dict[str, Any]]
    unserved: list[dict[str, Any]]
    candidates: list[CandidateOut]
    skipped_counts: dict[str, int]
    created_at: datetime


# ---- fulfillment orders -------------------------------------------------------------------


class FulfillmentLineOut(Out):
    line_id: str
    sku: str
    quantity: int
    picked_quantity: int
    short_quantity: int
    inbound_from: str | None


class ParcelOut(Out):
    id: uuid.UUID
    carrier: str
    tracking_number: str
    weight_grams: int | None
    delivered_at: datetime | None


class WentToOut(Out):
    """A fulfillment order that took over lines another location rejected."""

    fulfillment_order_id: uuid.UUID
    number: str
    location_code: str
    status: str


class RejectedLineOut(Out):
    line_id: str
    sku: str
    quantity: int


class RejectionOut(Out):
    """Why a location rejected its fulfillment order, who did, and where the lines went:
    `went_to` (new fulfillment orders at other locations) and `cancelled` (lines no location
    could take: cancelled on the order and refunded)."""

    reason: str
    note: str | None
    rejected_by: str | None
    at: datetime
    went_to: list[WentToOut]
    cancelled: list[RejectedLineOut]
    outcome: str


class FulfillmentOrderOut(Out):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    location_code: str
    type: str
    status: str
    deliver_to: str | None
    feeds_id: uuid.UUID | None
    lines: list[FulfillmentLineOut]
    parcels: list[ParcelOut]
    promised_at: datetime | None
    pickup_slot_at: datetime | None
    respond_by: datetime | None
    pick_list_id: uuid.UUID | None
    reject_reason: str | None
    ready_at: datetime | None
    expires_at: datetime | None
    pickup_locked: bool
    created_at: datetime
    updated_at: datetime
    # On a rejected fulfillment order's own view (and the reject answer): where it went.
    rejection: RejectionOut | None = None


class FulfillmentEventOut(Out):
    kind: str
    fulfillment_order_id: uuid.UUID | None
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any]
    at: datetime


class OrderFulfillmentOut(Out):
    """Everything fulfillment knows of one order: for the contact center."""

    order_id: uuid.UUID
    fulfillment_orders: list[FulfillmentOrderOut]
    decisions: list[DecisionOut]
    events: list[FulfillmentEventOut]


class RejectBody(Body):
    reason: Annotated[
        RejectReason,
        Meta(
            description="`no_staff` (nobody to pack it: no stock correction), `item_damaged` (the units are "
            "written off), `not_found` (not on the shelf: the SKU is counted down to 0 here)"
        ),
    ]
    note: Text | None = None


class ParcelIn(Body):
    carrier: Code
    tracking_number: Tracking
    weight_grams: Annotated[int, Meta(gt=0, le=1_000_000)] | None = None


class PackBody(Body):
    parcels: Annotated[list[ParcelIn], Meta(min_length=1, max_length=20)]


class CollectBody(Body):
    """The pickup code, or — when the customer cannot show it — the order number with the
    customer's loyalty card or phone. Wrong answers count alike toward the lock."""

    code: PickupCode | None = None
    order_number: OrderNumber | None = None
    card_number: CardNumber | None = None
    phone: Phone | None = None

    def __post_init__(self) -> None:
        identity = self.card_number is not None or self.phone is not None
        if self.code is not None:
            if self.order_number is not None or identity:
                raise ValueError("send either code, or order_number with card_number or phone")
        elif self.order_number is None or (self.card_number is None) == (self.phone is None):
            raise ValueError("send either code, or order_number with exactly one of card_number or phone")


class CarrierEventBody(Body):
    carrier: Code
    event_id: Annotated[str, Meta(min_length=1, max_length=120)]
    tracking_number: Tracking
    status: Literal["in_transit", "delivered", "exception"]
    occurred_at: Annotated[datetime, Meta(tz=True)] | None = None


class ParcelScan(Body):
    """A ship-to-store parcel scanned in at the store's back door (its tracking number; the
    carrier only when two carriers' parcels share the number)."""

    tracking_number: Tracking
    carrier: Code | None = None


class CarrierEventOut(Out):
    duplicate: bool
    fulfillment_order_id: uuid.UUID | None
    status: str | None


# ---- pick lists -----------------------------------------------------------------------------


class PickShareOut(Out):
    fulfillment_order_id: uuid.UUID
    fulfillment_order_number: str
    line_id: str
    quantity: int
    # The tote these units go into (one tote per fulfillment order of the walk: A, B, C...).
    tote: str | None = None


class PickLineOut(Out):
    sku: str
    bin: str | None
    quantity: int
    shares: list[PickShareOut]
    # What the picker reads on the shelf label (from the catalog when the list is shown).
    product_name: str | None = None
    size: str | None = None
    color: str | None = None
    barcode: str | None = None


class ToteOut(Out):
    """One fulfillment order of the walk: its tote, and how it leaves the building."""

    tote: str
    fulfillment_order_id: uuid.UUID
    fulfillment_order_number: str
    order_number: str
    type: Literal["delivery", "pickup", "ship_to_store"]
    deliver_to: str | None
    pickup_slot_at: datetime | None
    units: int


class PickListOut(Out):
    id: uuid.UUID
    location_code: str
    status: str
    lines: list[PickLineOut]
    fulfillment_order_ids: list[uuid.UUID]
    created_at: datetime
    confirmed_at: datetime | None
    confirmation: dict[str, Any] | None
    # For people: "Lyon warehouse (WH-TEST) · Mon 07 Dec · list 3", the n-th list of the
    # location's local day, and when it was made in the location's time zone.
    title: str = ""
    sequence: int = 0
    location_name: str = ""
    time_zone: str = "UTC"
    created_at_local: str = ""
    totes: list[ToteOut] = msgspec.field(default_factory=list)


class FoundLine(Body):
    sku: Sku
    found: Found


class ConfirmBody(Body):
    lines: Annotated[list[FoundLine], Meta(min_length=1, max_length=2000)]


class BinIn(Body):
    sku: Sku
    bin: BinCode


class BinsBody(Body):
    """Either `bins` or `csv` (lines `sku,bin`, an optional `sku,bin` header)."""

    bins: Annotated[list[BinIn], Meta(max_length=10_000)] | None = None
    csv: Annotated[str, Meta(max_length=1_000_000)] | None = None


class BinOut(Out):
    sku: str
    bin: str


class BinsOut(Out):
    location_code: str
    updated: int


# ---- shipments: what the shopper and the contact center see of an order's fulfillment ------


class ShipmentLineOut(Out):
    line_id: str
    sku: str
    quantity: int


class TrackedParcelOut(Out):
    carrier: str
    tracking_number: str
    # The carrier's tracking page (OMS_CARRIER_TRACKING_URLS); None for a carrier not listed.
    tracking_url: str | None
    delivered_at: datetime | None


class ShipmentOut(Out):
    """One fulfillment order as a shopper sees it: no staff, key or pick-list ids.
    `type`: delivery (to the address), pickup (at `location_code`), ship_to_store (a parcel
    from `location_code` to the pickup store `deliver_to`, feeding the pickup)."""

    fulfillment_order_id: uuid.UUID
    number: str
    type: str
    status: str
    location_code: str
    deliver_to: str | None
    lines: list[ShipmentLineOut]
    parcels: list[TrackedParcelOut]
    promised_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    ready_at: datetime | None
    pickup_expires_at: datetime | None
    collected_at: datetime | None
    closed_at: datetime | None
