"""Inventory tables: locations, stock levels, the stock ledger, reservations, transfers,
POS sync batches.

Invariants held by CHECK constraints (and verified for the whole database by `oms check`):
on_hand >= 0, reserved >= 0, in_transit >= 0; a reservation line never releases or
consumes more than it holds; every ledger row has a non-zero delta and a non-negative
resulting quantity.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, SmallInteger, String, Text, Time, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

REASONS = (
    "receipt",
    "sale",
    "return_restock",
    "damage",
    "cycle_count",
    "transfer_out",
    "transfer_in",
    "correction",
    "pos_sync",
)


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("kind IN ('warehouse','store')", name="kind_known"),
        CheckConstraint("latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coordinates_valid"),
        CheckConstraint("daily_capacity > 0", name="capacity_positive"),
        CheckConstraint("default_safety_stock >= 0", name="safety_stock_not_negative"),
        # Every warehouse ships; customers collect only in stores.
        CheckConstraint("kind <> 'warehouse' OR (ships AND NOT pickup)", name="warehouse_capabilities"),
        CheckConstraint(
            "handling_hours BETWEEN 0 AND 720 AND transit_days BETWEEN 0 AND 60 "
            "AND cardinality(shipping_days) BETWEEN 1 AND 7 AND shipping_days <@ '{1,2,3,4,5,6,7}'::smallint[]",
            name="promise_valid",
        ),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    time_zone: Mapped[str] = mapped_column(String(64))
    ships: Mapped[bool]
    pickup: Mapped[bool]
    accepts_returns: Mapped[bool]
    # Max fulfillment orders a day; sourcing respects it.
    daily_capacity: Mapped[int]
    default_safety_stock: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    zone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # The delivery promise (inventory.rules "delivery promise"): local order cut-off, hours to
    # pick and pack, carrier days to an address (per ISO country where it differs), and the
    # ISO weekdays (Monday = 1) on which the location works and parcels leave.
    order_cutoff: Mapped[time] = mapped_column(Time, default=time(14), server_default=text("'14:00'"))
    handling_hours: Mapped[int] = mapped_column(default=2, server_default=text("2"))
    transit_days: Mapped[int] = mapped_column(default=2, server_default=text("2"))
    transit_days_by_country: Mapped[dict[str, int]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    shipping_days: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), default=lambda: [1, 2, 3, 4, 5, 6], server_default=text("'{1,2,3,4,5,6}'")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("in_transit >= 0", name="in_transit_not_negative"),
        CheckConstraint("safety_stock IS NULL OR safety_stock >= 0", name="safety_stock_not_negative"),
        # Location-first listings (a store's stock page, POS sync) keyset on (location, sku).
        Index("ix_stock_levels_location_sku", "location_code", "sku"),
    )

    # Primary key (sku, location_code): every stock query names its SKU.
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), primary_key=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # NULL: the location's default_safety_stock applies.
    safety_stock: Mapped[int | None]
    # Dispatched towards this location, not yet received.
    in_transit: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Units granted by the last combined hold statement on this row (repository.hold_batch).
    # PostgreSQL 15 has no RETURNING OLD, so the statement writes the amount it added here to
    # hand it on to its own inserts; nothing else reads it.
    last_grant: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class StockMovement(Base):
    """The append-only stock ledger: one row per change of on_hand."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("on_hand_after >= 0", name="on_hand_after_not_negative"),
        CheckConstraint(
            "reason IN (" + ",".join(f"'{r}'" for r in REASONS) + ")",
            name="reason_known",
        ),
        Index("ix_stock_movements_sku_location_effective", "sku", "location_code", "effective_at"),
        Index("ix_stock_movements_location_id", "location_code", "id"),
        Index("ix_stock_movements_sku_id", "sku", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    delta: Mapped[int]
    # on_hand right after this row was recorded.
    on_hand_after: Mapped[int]
    reason: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(160))
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # When the change happened in the physical world. Equal to recorded_at except for a
    # late POS count applied as of its counted_at (see rules.decide_count).
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("status IN ('open','released','consumed')", name="status_known"),
        Index("ix_reservations_open_expiry", "expires_at", postgresql_where=text("status = 'open'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    # `order:<uuid>`, `hold:<uuid>`, `cart:<uuid>`: unique, so a retried reserve is harmless.
    reference: Mapped[str] = mapped_column(String(160), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None]
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # Who may release or consume it through /v1/reservations: the creating key's channel (and
    # store), rules.holder_of. None: an order's or fulfillment's own, touched only by those flows.
    holder: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReservationLine(Base):
    __tablename__ = "reservation_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "released_qty >= 0 AND consumed_qty >= 0 AND released_qty + consumed_qty <= quantity",
            name="settled_within_quantity",
        ),
        # `oms check` and the per-row reserved audit sum open lines per (sku, location).
        Index(
            "ix_reservation_lines_open",
            "sku",
            "location_code",
            postgresql_where=text("released_qty + consumed_qty < quantity"),
        ),
    )

    reservation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    quantity: Mapped[int]
    released_qty: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    consumed_qty: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("status IN ('draft','dispatched','received','cancelled')", name="status_known"),
        CheckConstraint("from_location <> to_location", name="distinct_locations"),
        Index("ix_transfers_status_created", "status", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    from_location: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    to_location: Mapped[str] = mapped_column(ForeignKey("locations.code"))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]


class TransferLine(Base):
    __tablename__ = "transfer_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), primary_key=True)
    quantity: Mapped[int]


class StockSyncBatch(Base):
    """A POS count batch, kept so that re-sending it changes nothing and replays its outcome."""

    __tablename__ = "stock_sync_batches"

    location_code: Mapped[str] = mapped_column(ForeignKey("locations.code"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    received_at: Mapped[datetime]
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # {"lines": n, "applied": n, "unchanged": n, "rejected": [{sku, reason, ...}]}
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONB)
