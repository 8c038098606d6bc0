"""Return tables: return policies per category, returns (authorizations and immediate
returns at a till) with their lines, refunds per original tender, exchanges, and the
per-order-line running totals that guard every return.

Invariants held by CHECK constraints: quantities positive; a line's dispositions cover its
quantity exactly once it is received; refunds positive; an order line never has more
units refunded than returned. "Never more units back than delivered" is the conditional
UPDATE in repository.take_units (the delivered count lives in fulfillment).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.orders.returns.rules import Mode, Status

RETURN_STATUSES = tuple(s.value for s in Status)
RETURN_MODES = tuple(m.value for m in Mode)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class ReturnPolicy(Base):
    """Return window of a category (and every category under it without its own policy)."""

    __tablename__ = "return_policies"
    __table_args__ = (CheckConstraint("days >= 0 AND days <= 3650", name="days_in_range"),)

    category_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    days: Mapped[int]
    updated_at: Mapped[datetime]


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint(_in("status", RETURN_STATUSES), name="status_known"),
        CheckConstraint(_in("mode", RETURN_MODES), name="mode_known"),
        CheckConstraint(
            "refund_total >= 0 AND delivery_refund >= 0 AND points_shortfall >= 0", name="amounts_not_negative"
        ),
        Index("ix_returns_order", "order_id", "created_at"),
        Index("ix_returns_location_status", "location_code", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    order_number: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(15))
    status: Mapped[str] = mapped_column(String(12))
    # The channel and store of the key that opened it (the order may come from anywhere).
    channel: Mapped[str | None] = mapped_column(String(20))
    api_key_id: Mapped[uuid.UUID] = mapped_column(UUID)
    # Where the goods came back (set at receipt; at once for an immediate return).
    location_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    # An admin's override of window/returnability, and who gave it.
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    currency: Mapped[str] = mapped_column(String(3))
    # What the refund gave back in all (lines + delivery - points shortfall), when refunded.
    refund_total: Mapped[int] = mapped_column(default=0, server_default="0")
    delivery_refund: Mapped[int] = mapped_column(default=0, server_default="0")
    # Value of earned points already spent, deducted from the money refund (loyalty's rule).
    points_shortfall: Mapped[int] = mapped_column(default=0, server_default="0")
    points_reversed: Mapped[int] = mapped_column(default=0, server_default="0")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("restocked >= 0 AND damaged >= 0", name="dispositions_not_negative"),
        CheckConstraint("restocked + damaged IN (0, quantity)", name="dispositions_cover_quantity"),
        CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
    )

    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    restocked: Mapped[int] = mapped_column(default=0, server_default="0")
    damaged: Mapped[int] = mapped_column(default=0, server_default="0")
    refund_amount: Mapped[int] = mapped_column(default=0, server_default="0")
    # The eligibility reason an admin overrode for this line, if any.
    overridden: Mapped[str | None] = mapped_column(String(30))


class OrderLineReturns(Base):
    """Running totals per order line: units in live returns and what was refunded for them.
    Every return takes its units here with one conditional UPDATE (two returns of the same
    last unit: exactly one gets it)."""

    __tablename__ = "order_line_returns"
    __table_args__ = (
        CheckConstraint("returned_quantity >= 0", name="returned_not_negative"),
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= returned_quantity", name="refunded_within"),
        CheckConstraint("refunded_amount >= 0", name="refunded_amount_not_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    returned_quantity: Mapped[int] = mapped_column(default=0, server_default="0")
    refunded_quantity: Mapped[int] = mapped_column(default=0, server_default="0")
    refunded_amount: Mapped[int] = mapped_column(default=0, server_default="0")


class ReturnRefund(Base):
    """One tender's share of a return's refund. Cards are refunded at the gateway by the
    `returns.settle_refunds` job after commit (`pending` until the gateway confirmed)."""

    __tablename__ = "return_refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending','done')", name="status_known"),
        Index("ix_return_refunds_return", "return_id"),
        Index("ix_return_refunds_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    order_id: Mapped[uuid.UUID] = mapped_column(UUID)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order_tenders.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


class Exchange(Base):
    """Return one item and take another at once: the replacement and how it was paid."""

    __tablename__ = "return_exchanges"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("credit >= 0 AND new_price >= 0", name="amounts_not_negative"),
        CheckConstraint("paid_by IS NULL OR paid_by IN ('cash','card')", name="paid_by_known"),
    )

    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    # The returned units' refund value, used as credit towards the replacement.
    credit: Mapped[int]
    # What the replacement costs: the original paid price when it is the same product.
    new_price: Mapped[int]
    even: Mapped[bool]
    # new_price - credit: > 0 the customer paid it at the till, < 0 refunded to the tenders.
    difference: Mapped[int]
    paid_by: Mapped[str | None] = mapped_column(String(10))
    location_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
