"""Customer tables: the single customer record and the tokens a storefront acts with.

A merged (absorbed) record stays as a tombstone row with `merged_into_id` set: its id,
card number and the contacts the survivor did not take keep resolving to the survivor,
and stay reserved (unique), so nobody else can register them. Chains are flattened at
merge time, so one hop always reaches the survivor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("card_number ~ '^29[0-9]{11}$'", name="card_number_format"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("phone ~ '^\\+[1-9][0-9]{1,14}$'", name="phone_e164"),
        CheckConstraint("merged_into_id <> id", name="not_merged_into_self"),
        CheckConstraint("(merged_into_id IS NULL) = (merged_at IS NULL)", name="merged_at_with_merge"),
        # Name-prefix search (contact center); migration 0016.
        Index(
            "ix_customers_name_prefix",
            text("lower(name) text_pattern_ops"),
            "id",
            postgresql_where=text("merged_into_id IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    card_number: Mapped[str] = mapped_column(String(13), unique=True)
    # [{label, line1, line2, city, postal_code, region, country}], validated at the edge.
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    marketing_consent: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    marketing_consent_at: Mapped[datetime | None]
    # The channel of the key that created the record (a guest checkout on web, a POS enrolment).
    source_channel: Mapped[str | None] = mapped_column(String(20))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class CustomerToken(Base):
    """Proof, issued to a storefront after its own login check, that it acts for a customer."""

    __tablename__ = "customer_tokens"

    # SHA-256 of a 32-byte random token: a fast hash is enough for random secrets.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    # Only the key that obtained the token may present it.
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
