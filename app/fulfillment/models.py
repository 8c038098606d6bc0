"""Fulfillment tables: sourcing rule versions and decisions, fulfillment orders and their
lines, pick lists, parcels, bins, carrier events.

A fulfillment order (FO) is one location's share of an order for one fulfillment type
(delivery, pickup, ship_to_store). Rejected and cancelled FOs stay: they are the history
the contact center reads, and a rejected FO excludes its location for that order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.fulfillment.rules import STATUSES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class SourcingRuleVersion(Base):
    """The newest version is the one in force; older ones stay for audit and simulation."""

    __tablename__ = "sourcing_rule_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime]


class SourcingDecision(Base):
    """One sourcing decision of an order: its inputs (replayable) and the explained plan."""

    __tablename__ = "sourcing_decisions"
    __table_args__ = (
        CheckConstraint(_in("trigger", ("placement", "rejection", "short_pick", "timeout")), name="trigger_known"),
        Index("ix_sourcing_decisions_order", "order_id", "id"),
        # The simulator replays the newest placements.
        Index("ix_sourcing_decisions_placements", "id", postgresql_where=text("trigger = 'placement'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID)
    trigger: Mapped[str] = mapped_column(String(20))
    rules_version: Mapped[int | None]
    fulfillment: Mapped[str] = mapped_column(String(10))
    pickup_location_code: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    excluded: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    # [{line_id, sku, quantity}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # rules.Plan as JSON (assignments, unserved, split, summary, notes, skipped_counts).
    plan: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime]


class FulfillmentOrder(Base):
    __tablename__ = "fulfillment_orders"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint(_in("type", ("delivery", "pickup", "ship_to_store")), name="type_known"),
        CheckConstraint("(type = 'ship_to_store') = (deliver_to IS NOT NULL)", name="ship_to_store_has_store"),
        CheckConstraint("code_attempts >= 0", name="code_attempts_not_negative"),
        UniqueConstraint("number", name="uq_fulfillment_orders_number"),
        Index("ix_fulfillment_orders_order", "order_id", "created_at"),
        # The pick-list queue of a location: open FOs, oldest promise first.
        Index(
            "ix_fulfillment_orders_open_queue",
            "location_code",
            "promised_at",
            "created_at",
            postgresql_where=text("status IN ('created','accepted')"),
        ),
        Index("ix_fulfillment_orders_location_status", "location_code", "status", "created_at", "id"),
        Index("ix_fulfillment_orders_respond_by", "respond_by", postgresql_where=text("status = 'created'")),
        Index(
            "ix_fulfillment_orders_pickup_expiry", "expires_at", postgresql_where=text("status = 'ready_for_pickup'")
        ),
        Index("ix_fulfillment_orders_location_day", "location_code", "created_at"),
        Index("ix_fulfillment_orders_feeds", "feeds_id", postgresql_where=text("feeds_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    # `<order number>-<n>`: what staff read out and write on a parcel.
    number: Mapped[str] = mapped_column(String(24))
    order_id: Mapped[uuid.UUID] = mapped_column(UUID)
    order_number: Mapped[str] = mapped_column(String(12))
    location_code: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(15))
    status: Mapped[str] = mapped_column(String(20))
    # ship_to_store: the store the parcel goes to, and the pickup FO it feeds.
    deliver_to: Mapped[str | None] = mapped_column(String(40))
    feeds_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    units: Mapped[int]
    decision_id: Mapped[int | None]
    promised_at: Mapped[datetime | None]
    pickup_slot_at: Mapped[datetime | None]
    # Ship-from-store: a store that has not accepted by then counts as rejecting.
    respond_by: Mapped[datetime | None]
    pick_list_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    reject_reason: Mapped[str | None] = mapped_column(String(30))
    # BOPIS pickup code: salted scrypt hash, wrong attempts counted, single use.
    code_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    code_salt: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    code_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # Pickup: who to tell when it is ready ({"email", "phone"}, from the order; migration 0030).
    pickup_contact: Mapped[dict[str, str] | None] = mapped_column(JSONB(none_as_null=True))
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FulfillmentOrderLine(Base):
    __tablename__ = "fulfillment_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("picked_quantity >= 0 AND short_quantity >= 0", name="progress_not_negative"),
        CheckConstraint("picked_quantity + short_quantity <= quantity", name="progress_within_quantity"),
    )

    fulfillment_order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fulfillment_orders.id", ondelete="CASCADE"), primary_key=True
    )
    # The order line (its line number as text) this serves.
    line_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    # Ship-to-store pickups: the line arrives from this warehouse (not reserved here yet).
    inbound_from: Mapped[str | None] = mapped_column(String(40))
    # The inventory reservations holding this line's units at the FO's location:
    # [{"ref": reference, "qty": units}] (the order's reservation, or a re-sourcing's own).
    holds: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    picked_quantity: Mapped[int] = mapped_column(default=0, server_default="0")
    short_quantity: Mapped[int] = mapped_column(default=0, server_default="0")


class FulfillmentEvent(Base):
    """What happened to a fulfillment order: shown on the order for the contact center."""

    __tablename__ = "fulfillment_events"
    __table_args__ = (Index("ix_fulfillment_events_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID)
    fulfillment_order_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    at: Mapped[datetime]


class PickList(Base):
    __tablename__ = "pick_lists"
    __table_args__ = (
        CheckConstraint(_in("status", ("open", "confirmed")), name="status_known"),
        Index("ix_pick_lists_location_created", "location_code", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    location_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    # [rules.PickLine] as JSON: the walk, in bin order, with each order's share.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    fulfillment_order_ids: Mapped[list[str]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    confirmation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Parcel(Base):
    __tablename__ = "parcels"
    __table_args__ = (UniqueConstraint("carrier", "tracking_number", name="uq_parcels_carrier_tracking"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    fulfillment_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fulfillment_orders.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(40))
    tracking_number: Mapped[str] = mapped_column(String(80))
    # [{line_id, sku, quantity}]
    contents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    weight_grams: Mapped[int | None]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Bin(Base):
    """Where a SKU lives in one location (aisle-shelf-bin code): the pick walk's order."""

    __tablename__ = "bins"

    location_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    bin_code: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime]


class CarrierEvent(Base):
    """Carrier webhooks seen, so a repeated delivery notice changes nothing."""

    __tablename__ = "carrier_events"

    carrier: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
