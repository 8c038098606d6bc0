"""Tables of the shared kernel: API keys, idempotency records, the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','merchandiser','storefront','kiosk','contact_center','pos','logistics','integration')",
            name="role_known",
        ),
        Index("ix_api_keys_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the whole key. Keys are 32 random bytes, so a fast hash is as safe as a
    # slow one and keeps authentication to one indexed lookup.
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(20))
    location_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    revoked_at: Mapped[datetime | None]
    # Touched at most once a minute per key and process (auth.KeyCache.touch_due), not per request.
    last_used_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """A creating POST's key and first answer. Not partitioned: rows are looked up by key only
    and deleted once older than `idempotency_ttl_days` (`idempotency.expire`, by created_at)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class OutboxEvent(Base):
    """The outbox, which is also the event feed. Partitioned by month on `occurred_at`
    (migration 0070, app.core.partitions): the key and the event id's unique index carry the
    partition column; `oms prune` drops whole old months once they are relayed."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        # Event ids are random UUIDs: unique with their month is unique in practice.
        UniqueConstraint("event_id", "occurred_at"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(80), index=True)
    schema_version: Mapped[int] = mapped_column(default=1)
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The writing transaction's id: the event feed serves only events whose transaction is
    # older than every transaction still running, which makes the feed follow commit order.
    txid: Mapped[int] = mapped_column(server_default=text("pg_current_xact_id()::text::bigint"))
    # The partition column, hence part of the key.
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True, server_default=text("now()"))
    published_at: Mapped[datetime | None]
