"""Loyalty tables: one account per card, an append-only points ledger, and earn lots.

- `loyalty_accounts`: the card's balances (`available`, `pending`), tier and the cached
  rolling spend. Changed only by conditional UPDATEs in the transaction that writes the
  ledger row, so `available + pending` always equals the sum of the card's ledger.
- `loyalty_ledger`: append-only; every change of the balance is one signed row.
- `loyalty_lots`: where points came from (an earning, a positive adjustment) and what is
  left of them (`remaining`): pending until `available_at`, spent and expired oldest
  first. `available` equals the sum of `remaining` of the card's available lots, and
  `pending` the sum of its pending lots.
- `loyalty_earning_lines`: the points of each order line of an earning, so a return
  reverses exactly what its lines earned.
- `loyalty_draws`: which lots a redemption drew from, so a cancelled order (or a refund to
  the points tender) gives them back, in full or in parts.
- `loyalty_reversals` (+ lines): returns, idempotent by (source document, event type);
  a line whose sale has not arrived yet waits for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

LEDGER_KINDS = ("earn", "redeem", "restore", "reverse", "expire", "adjust", "merge")
LOT_STATUSES = ("pending", "available")
LOT_SOURCES = ("earn", "adjust")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class LoyaltyAccount(Base):
    __tablename__ = "loyalty_accounts"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        CheckConstraint("merged_into_id <> id", name="not_merged_into_self"),
        # One live card per customer; merged-away cards stay as history.
        Index(
            "uq_loyalty_accounts_live_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("merged_into_id IS NULL"),
        ),
        Index("ix_loyalty_accounts_merged_into_id", "merged_into_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    card_number: Mapped[str] = mapped_column(String(13), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    available: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    pending: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    tier: Mapped[str] = mapped_column(String(20))
    # Paid spend of the rolling tier window, as of the last earn or reversal.
    spend_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Set when a customer merge moved this card's points to another card.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loyalty_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class LedgerEntry(Base):
    __tablename__ = "loyalty_ledger"
    __table_args__ = (
        CheckConstraint(_in("kind", LEDGER_KINDS), name="kind_known"),
        CheckConstraint("points <> 0", name="points_not_zero"),
        Index("ix_loyalty_ledger_account_id_id", "account_id", "id"),
        # The channel dashboard's points issued/redeemed in a period (migration 0013).
        Index("ix_loyalty_ledger_occurred_at", "occurred_at", postgresql_include=["kind", "points"]),
        # ... and the rows recorded since its last fold of them (migration 0060).
        Index("ix_loyalty_ledger_recorded_at", "recorded_at", postgresql_include=["occurred_at", "kind", "points"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loyalty_accounts.id"))
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int]
    # The document behind the row: order id, return id, lot id, adjustment reason...
    reference: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str | None] = mapped_column(String(20))
    # One redemption per order: a second one for the same reference is refused.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Lot(Base):
    __tablename__ = "loyalty_lots"
    __table_args__ = (
        CheckConstraint(_in("status", LOT_STATUSES), name="status_known"),
        CheckConstraint(_in("source", LOT_SOURCES), name="source_known"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_within_points"),
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint("spend_minor >= 0", name="spend_not_negative"),
        # An earning is keyed by its source document and event type (idempotency).
        Index("uq_loyalty_lots_earning", "source_id", "event_type", unique=True),
        Index("ix_loyalty_lots_account_id_status_expires_at", "account_id", "status", "expires_at"),
        Index("ix_loyalty_lots_release", "available_at", postgresql_where=text("status = 'pending'")),
        Index("ix_loyalty_lots_expiry", "expires_at", postgresql_where=text("status = 'available' AND remaining > 0")),
        Index("ix_loyalty_lots_spend", "account_id", "earned_at", postgresql_where=text("spend_minor > 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loyalty_accounts.id"))
    source: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(80))
    # SHA-256 of what was earned for: the same key with another payload is a conflict.
    payload_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    channel: Mapped[str | None] = mapped_column(String(20))
    order_id: Mapped[str | None] = mapped_column(String(120))
    currency: Mapped[str | None] = mapped_column(String(3))
    # Points after reversals; `remaining` is what is left to spend, expire or reverse.
    points: Mapped[int]
    remaining: Mapped[int]
    # Paid amount counted towards the tier (reduced by refunds).
    spend_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(10))
    earned_at: Mapped[datetime]
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class EarningLine(Base):
    __tablename__ = "loyalty_earning_lines"
    __table_args__ = (
        PrimaryKeyConstraint("lot_id", "line_id"),
        CheckConstraint("net_paid_minor >= 0 AND refunded_minor >= 0", name="amounts_not_negative"),
        CheckConstraint("reversed_points >= 0 AND reversed_points <= points", name="reversed_within_points"),
        Index("ix_loyalty_earning_lines_line_id", "line_id"),
    )

    lot_id: Mapped[int] = mapped_column(ForeignKey("loyalty_lots.id"))
    line_id: Mapped[str] = mapped_column(String(120))
    net_paid_minor: Mapped[int]
    earnable_minor: Mapped[int]
    points: Mapped[int]
    refunded_minor: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    reversed_points: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class Draw(Base):
    __tablename__ = "loyalty_draws"
    __table_args__ = (
        PrimaryKeyConstraint("entry_id", "lot_id"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("restored >= 0 AND restored <= points", name="restored_within_points"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("loyalty_ledger.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("loyalty_lots.id"), index=True)
    points: Mapped[int]
    # Given back by cancellations and refunds to the points tender (possibly in parts).
    restored: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class Reversal(Base):
    __tablename__ = "loyalty_reversals"
    __table_args__ = (PrimaryKeyConstraint("source_id", "event_type"),)

    source_id: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(80))
    payload_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    channel: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]


class ReversalLine(Base):
    __tablename__ = "loyalty_reversal_lines"
    __table_args__ = (
        PrimaryKeyConstraint("source_id", "event_type", "line_id"),
        ForeignKeyConstraint(
            ["source_id", "event_type"], ["loyalty_reversals.source_id", "loyalty_reversals.event_type"]
        ),
        CheckConstraint("refunded_minor > 0", name="refunded_positive"),
        Index("ix_loyalty_reversal_lines_waiting", "line_id", postgresql_where=text("applied_at IS NULL")),
    )

    source_id: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(80))
    line_id: Mapped[str] = mapped_column(String(120))
    refunded_minor: Mapped[int]
    # Points taken back for this line and the part that could not be (deducted from the refund).
    reversed_points: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    shortfall_points: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # NULL while the line's sale has not been earned yet (an offline till syncing late).
    applied_at: Mapped[datetime | None]
