"""The `test` gateway's own books: what a real gateway would hold on its side.

Never joined with order tables: tests read them to assert what the "bank" saw
("captured 1999", "refunded <= captured").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class TestGatewayAuthorization(Base):
    __test__ = False  # not a pytest class
    __tablename__ = "payment_test_authorizations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("captured >= 0 AND released >= 0 AND refunded >= 0", name="sums_not_negative"),
        CheckConstraint("captured + released <= amount", name="captured_within_amount"),
        CheckConstraint("refunded <= captured", name="refunded_within_captured"),
        CheckConstraint("status IN ('authorized','declined')", name="status_known"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    token: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    captured: Mapped[int] = mapped_column(default=0, server_default="0")
    released: Mapped[int] = mapped_column(default=0, server_default="0")
    refunded: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class TestGatewayOperation(Base):
    __test__ = False  # not a pytest class
    __tablename__ = "payment_test_operations"
    __table_args__ = (
        CheckConstraint("kind IN ('capture','void','refund')", name="kind_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    authorization_id: Mapped[str] = mapped_column(ForeignKey("payment_test_authorizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
