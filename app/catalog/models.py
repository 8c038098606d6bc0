"""Catalog tables: one catalog for every channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # Materialized path of codes from the root ("apparel/tops/shirts") for subtree filters.
    path: Mapped[str] = mapped_column(Text, index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_search", "search", postgresql_using="gin"),
        Index("ix_products_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str | None] = mapped_column(String(100))
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # Channels where the product is NOT sold; empty means sold everywhere.
    not_sold_in: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list, server_default="{}")
    returnable: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    search: Mapped[Any] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(brand, ''))", persisted=True)
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Variant(Base):
    __tablename__ = "variants"
    __table_args__ = (CheckConstraint("weight_grams IS NULL OR weight_grams >= 0", name="weight_not_negative"),)

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    size: Mapped[str | None] = mapped_column(String(40))
    color: Mapped[str | None] = mapped_column(String(40))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    barcode: Mapped[str | None] = mapped_column(String(14), unique=True)
    weight_grams: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
