"""What the inventory API takes and returns."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.core.schema import Body, Code, Name, Out, Quantity, Text

Sku = Annotated[str, Meta(min_length=1, max_length=64)]
LocationCode = Code
Kind = Literal["warehouse", "store"]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
# The schema lists the zones the service accepts (the service checks with zoneinfo and answers 422).
TimeZone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="IANA time zone, e.g. Europe/Paris",
        extra_json_schema={"extra": {"enum": sorted(zoneinfo.available_timezones())}},
    ),
]
Capacity = Annotated[int, Meta(gt=0, le=1_000_000, description="max fulfillment orders a day")]
SafetyStock = Annotated[int, Meta(ge=0, le=1_000_000)]
Count = Annotated[int, Meta(ge=0, le=100_000_000)]
Delta = Annotated[int, Meta(ge=-1_000_000, le=1_000_000, description="non-zero change of on_hand")]
Reference = Annotated[str, Meta(min_length=1, max_length=160)]
AwareTime = Annotated[datetime, Meta(tz=True)]
AdjustReason = Literal["receipt", "return_restock", "damage", "correction"]
# The delivery promise's settings (README "Delivery promise").
# A wall-clock time of the location ("14:00"), not an instant: no offset (RFC 3339 `time` requires one).
OrderCutoff = Annotated[
    str,
    Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="local time (HH:MM) after which an order counts from the next shipping day",
    ),
]
HandlingHours = Annotated[int, Meta(ge=0, le=720, description="wall-clock hours to pick and pack an order")]
TransitDays = Annotated[int, Meta(ge=0, le=60, description="carrier days (Monday to Saturday) to the address")]
Country = Annotated[str, Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
TransitByCountry = Annotated[
    dict[Country, TransitDays], Meta(max_length=300, description="transit days where they differ from the default")
]
Weekday = Annotated[int, Meta(ge=1, le=7)]
ShippingDays = Annotated[
    list[Weekday],
    Meta(min_length=1, max_length=7, description="ISO weekdays (1 = Monday) the location works and ships on"),
]


# ---- locations -------------------------------------------------------------------------


class LocationCreate(Body):
    """Capabilities left out take the kind's defaults: a warehouse ships (no pickup, no
    returns, capacity 5000/day); a store offers pickup and takes returns (no shipping,
    capacity 50/day)."""

    code: LocationCode
    name: Name
    kind: Kind
    latitude: Latitude
    longitude: Longitude
    time_zone: TimeZone
    address: Text = ""
    ships: bool | None = None
    pickup: bool | None = None
    accepts_returns: bool | None = None
    daily_capacity: Capacity | None = None
    default_safety_stock: SafetyStock = 0
    zone: Code | None = None
    order_cutoff: OrderCutoff = "14:00"
    handling_hours: HandlingHours = 2
    transit_days: TransitDays = 2
    transit_days_by_country: TransitByCountry = msgspec.field(default_factory=dict)
    shipping_days: ShippingDays = msgspec.field(default_factory=lambda: [1, 2, 3, 4, 5, 6])


class LocationUpdate(Body):
    name: Name | UnsetType = UNSET
    address: Text | UnsetType = UNSET
    latitude: Latitude | UnsetType = UNSET
    longitude: Longitude | UnsetType = UNSET
    time_zone: TimeZone | UnsetType = UNSET
    ships: bool | UnsetType = UNSET
    pickup: bool | UnsetType = UNSET
    accepts_returns: bool | UnsetType = UNSET
    daily_capacity: Capacity | UnsetType = UNSET
    default_safety_stock: SafetyStock | UnsetType = UNSET
    zone: Code | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET
    order_cutoff: OrderCutoff | UnsetType = UNSET
    handling_hours: HandlingHours | UnsetType = UNSET
    transit_days: TransitDays | UnsetType = UNSET
    transit_days_by_country: TransitByCountry | UnsetType = UNSET
    shipping_days: ShippingDays | UnsetType = UNSET


class LocationOut(Out):
    code: str
    name: str
    kind: str
    address: str
    latitude: float
    longitude: float
    time_zone: str
    ships: bool
    pickup: bool
    accepts_returns: bool
    daily_capacity: int
    default_safety_stock: int
    zone: str | None
    active: bool
    order_cutoff: str  # HH:MM, the location's local time
    handling_hours: int
    transit_days: int
    transit_days_by_country: dict[str, int]
    shipping_days: list[int]


# ---- stock ---------------------------------------------------------------------------------


class StockLevelOut(Out):
    sku: str
    location: str
    on_hand: int
    reserved: int
    # Effective safety stock (the row's own value, else the location's default).
    safety_stock: int
    # The row's own value; null when the location default applies.
    safety_stock_override: int | None
    available: int
    in_transit: int
    updated_at: datetime


class AdjustmentCreate(Body):
    sku: Sku
    location: LocationCode
    delta: Delta
    reason: AdjustReason
    reference: Reference | None = None


class CountLine(Body):
    sku: Sku
    on_hand: Count


class CountCreate(Body):
    """A cycle count: the ledger records the difference to what it held."""

    location: LocationCode
    lines: Annotated[list[CountLine], Meta(min_length=1, max_length=1000)]
    counted_at: AwareTime | None = None
    reference: Reference | None = None


class SafetyStockUpdate(Body):
    safety_stock: SafetyStock | None


class LedgerEntryOut(Out):
    id: int
    sku: str
    location: str
    delta: int
    on_hand_after: int
    reason: str
    reference: str | None
    actor_key_id: uuid.UUID | None
    effective_at: datetime
    recorded_at: datetime


class OnHandAtOut(Out):
    sku: str
    location: str
    at: datetime
    on_hand: int


class SyncLine(Body):
    sku: Sku
    on_hand: Count
    counted_at: AwareTime


class SyncBatch(Body):
    """A store's counted stock. The batch id makes re-sending harmless. Up to 10,000 lines."""

    batch_id: Reference
    location: LocationCode
    lines: Annotated[list[SyncLine], Meta(min_length=1)]


class RejectedLine(Out):
    sku: str
    reason: str
    detail: str


class SyncOut(Out):
    batch_id: str
    location: str
    lines: int
    applied: int
    unchanged: int
    rejected: list[RejectedLine]
    replayed: bool = False


# ---- reservations ----------------------------------------------------------------------------


class ReservationLineIn(Body):
    sku: Sku
    location: LocationCode
    quantity: Quantity


class ReservationCreate(Body):
    """`reference` names what holds the stock (`order:<uuid>`, `hold:<uuid>`, `cart:<uuid>`);
    it is unique, so sending the same reservation again returns it instead of reserving twice."""

    reference: Reference
    lines: Annotated[list[ReservationLineIn], Meta(min_length=1, max_length=200)]
    expires_at: AwareTime | None = None


class SettleLine(Body):
    sku: Sku
    location: LocationCode
    quantity: Quantity


class ReleaseBody(Body):
    """No lines: release everything still held."""

    lines: Annotated[list[SettleLine], Meta(min_length=1, max_length=200)] | None = None


class ConsumeBody(Body):
    """A till sale. No lines: consume everything still held. `sale_reference` (the till's
    receipt number) is the reference of the `sale` ledger rows."""

    sale_reference: Reference
    lines: Annotated[list[SettleLine], Meta(min_length=1, max_length=200)] | None = None


class ReservationLineOut(Out):
    sku: str
    location: str
    quantity: int
    released: int
    consumed: int
    open: int


class ReservationOut(Out):
    id: uuid.UUID
    reference: str
    status: str
    expires_at: datetime | None
    created_at: datetime
    lines: list[ReservationLineOut]


# ---- transfers ---------------------------------------------------------------------------------


class TransferLineIn(Body):
    sku: Sku
    quantity: Quantity


class TransferCreate(Body):
    from_location: LocationCode
    to_location: LocationCode
    lines: Annotated[list[TransferLineIn], Meta(min_length=1, max_length=1000)]
    note: Text | None = None


class TransferLineOut(Out):
    sku: str
    quantity: int


class TransferOut(Out):
    id: uuid.UUID
    from_location: str
    to_location: str
    status: str
    note: str | None
    lines: list[TransferLineOut]
    created_at: datetime
    dispatched_at: datetime | None
    received_at: datetime | None


# ---- availability -----------------------------------------------------------------------------


class LocationAvailability(Out):
    location: str
    kind: str
    available: int
    ships: bool
    pickup: bool
    distance_km: float | None = None
    # The delivery promise of an order placed now (README "Delivery promise"): a pickup store's
    # time its own stock would be ready for collection, a shipping location's earliest delivery day.
    ready_by: datetime | None = None
    delivery_by: date | None = None


class SkuAvailability(Out):
    sku: str
    # Sum of available over every active shipping location.
    available_to_ship: int
    locations: list[LocationAvailability]
    # Why nothing is available regardless of stock: "not_sold_in_channel" or "unknown_sku".
    reason: str | None = None


class AvailabilityOut(Out):
    items: list[SkuAvailability]
    # The answer names at most `limit` locations; the next ones (farther, or later by code) follow this cursor.
    next_cursor: str | None = None


# ---- integrity ------------------------------------------------------------------------------------


class Finding(msgspec.Struct, frozen=True):
    check: str
    sku: str | None
    location: str | None
    actual: int | None
    expected: int | None
