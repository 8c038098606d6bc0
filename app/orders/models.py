"""Order tables: carts (one open cart per customer, shared by every channel), orders with
their priced lines, tenders, holds and timeline. The `test` gateway's books are in
`payments/models.py`.

Invariants held by CHECK constraints: quantities positive; a line never cancels or
fulfils more than was ordered; tender amounts never release or capture more than they
stand for.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.orders.payments import models as _payments  # noqa: F401  (the test gateway's tables)

CART_STATUSES = ("open", "ordered", "expired", "merged")
ORDER_STATUSES = (
    "placed",
    "on_hold",
    "released_to_fulfillment",
    "partially_fulfilled",
    "fulfilled",
    "completed",
    "cancelled",
)
TENDER_KINDS = ("card", "cash", "cash_on_delivery", "card_on_delivery", "loyalty_points")
HOLD_TYPES = ("payment_review", "fraud_review", "address_check", "manual")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (
        CheckConstraint(_in("status", CART_STATUSES), name="status_known"),
        # The customer's cart is one cart, whatever channel touches it.
        Index(
            "uq_carts_open_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'open' AND customer_id IS NOT NULL"),
        ),
        Index("ix_carts_open_expiry", "expires_at", postgresql_where=text("status = 'open'")),
        Index("ix_carts_customer", "customer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    # Channel (and store) that started it; every later touch is in the timeline of the order.
    channel: Mapped[str | None] = mapped_column(String(20))
    location_code: Mapped[str | None] = mapped_column(String(40))
    codes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    order_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    cart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int]
    added_at: Mapped[datetime]


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint("fulfillment IN ('delivery','pickup')", name="fulfillment_known"),
        CheckConstraint("(fulfillment = 'pickup') = (pickup_location_code IS NOT NULL)", name="pickup_has_location"),
        CheckConstraint("(fulfillment = 'delivery') = (delivery_address IS NOT NULL)", name="delivery_has_address"),
        CheckConstraint("total >= 0 AND subtotal >= 0 AND discount_total >= 0", name="amounts_not_negative"),
        CheckConstraint("contact_email = lower(contact_email)", name="contact_email_lower_case"),
        CheckConstraint("contact_phone ~ '^\\+[1-9][0-9]{1,14}$'", name="contact_phone_e164"),
        # Keyset lists: newest first, tie broken by id.
        Index("ix_orders_placed", "placed_at", "id"),
        Index("ix_orders_customer_placed", "customer_id", "placed_at", "id"),
        Index("ix_orders_channel_placed", "channel", "placed_at", "id"),
        Index("ix_orders_status_placed", "status", "placed_at", "id"),
        Index("ix_orders_store_placed", "store_code", "placed_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    # The store of a kiosk/POS key that placed it (NULL for remote channels).
    store_code: Mapped[str | None] = mapped_column(String(40))
    api_key_id: Mapped[uuid.UUID] = mapped_column(UUID)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    cart_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    fulfillment: Mapped[str] = mapped_column(String(10))
    pickup_location_code: Mapped[str | None] = mapped_column(String(40))
    # none_as_null: a pickup order has SQL NULL here, not JSON null (the CHECK reads it).
    delivery_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Who to tell when it is ready (a guest's pickup order needs one); migration 0030.
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int]
    discount_total: Mapped[int]
    total: Mapped[int]
    codes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    # The price engine's order-level result as it was at placement (applied promotions, codes).
    pricing: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The reservation made for the order in inventory (`order:<id>`).
    reservation_ref: Mapped[str] = mapped_column(String(160))
    # The gateway key prefix of its card tenders: at most one order per payment key.
    payment_key: Mapped[str] = mapped_column(String(400), unique=True)
    open_holds: Mapped[int] = mapped_column(default=0, server_default="0")
    placed_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("cancelled_quantity >= 0 AND fulfilled_quantity >= 0", name="progress_not_negative"),
        CheckConstraint("cancelled_quantity + fulfilled_quantity <= quantity", name="progress_within_quantity"),
        CheckConstraint("line_total >= 0", name="total_not_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    unit_price: Mapped[int]
    discount: Mapped[int]
    # What was actually paid for the line (after its share of every discount).
    line_total: Mapped[int]
    # The price engine's exact per-line result at placement.
    pricing: Mapped[dict[str, Any]] = mapped_column(JSONB)
    location_code: Mapped[str] = mapped_column(String(40))
    cancelled_quantity: Mapped[int] = mapped_column(default=0, server_default="0")
    fulfilled_quantity: Mapped[int] = mapped_column(default=0, server_default="0")


class OrderTender(Base):
    __tablename__ = "order_tenders"
    __table_args__ = (
        CheckConstraint(_in("kind", TENDER_KINDS), name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "captured >= 0 AND released >= 0 AND refunded >= 0 AND captured + released <= amount "
            "AND refunded <= captured",
            name="amounts_consistent",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    provider: Mapped[str | None] = mapped_column(String(40))
    authorization_id: Mapped[str | None] = mapped_column(String(100))
    # Points tenders: the loyalty card charged (the loyalty issue fills in the details).
    reference: Mapped[str | None] = mapped_column(String(100))
    captured: Mapped[int] = mapped_column(default=0, server_default="0")
    released: Mapped[int] = mapped_column(default=0, server_default="0")
    refunded: Mapped[int] = mapped_column(default=0, server_default="0")
    # What the gateway has confirmed so far; a settle job catches it up with the intent
    # above (captured/released) outside any row lock.
    gateway_captured: Mapped[int] = mapped_column(default=0, server_default="0")
    gateway_released: Mapped[int] = mapped_column(default=0, server_default="0")


class OrderHold(Base):
    __tablename__ = "order_holds"
    __table_args__ = (
        CheckConstraint(_in("type", HOLD_TYPES), name="type_known"),
        Index("ix_order_holds_order", "order_id", "placed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[uuid.UUID] = mapped_column(UUID)
    placed_channel: Mapped[str | None] = mapped_column(String(20))
    placed_at: Mapped[datetime]
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    lifted_channel: Mapped[str | None] = mapped_column(String(20))
    lifted_at: Mapped[datetime | None]
    lift_note: Mapped[str | None] = mapped_column(Text)


class OrderTimelineEntry(Base):
    """Every change of an order: what, who (key), through which channel, when."""

    __tablename__ = "order_timeline"
    __table_args__ = (Index("ix_order_timeline_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    channel: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    at: Mapped[datetime]
