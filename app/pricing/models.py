"""Pricing tables: price zones, the price history, promotions, codes and redemptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

DEFAULT_ZONE = "default"


class PriceZone(Base):
    """A region with its own prices (a store belongs to one; a delivery address maps to one)."""

    __tablename__ = "price_zones"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class DeliveryFee(Base):
    """What home delivery costs in a zone, per currency (pickup is free)."""

    __tablename__ = "price_zone_delivery_fees"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    zone_code: Mapped[str] = mapped_column(ForeignKey("price_zones.code", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount: Mapped[int]


class ZoneArea(Base):
    """A country, or a postal-code prefix in it, that belongs to a zone (the longest prefix wins)."""

    __tablename__ = "price_zone_areas"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    postal_prefix: Mapped[str] = mapped_column(String(20), primary_key=True, server_default="")
    zone_code: Mapped[str] = mapped_column(ForeignKey("price_zones.code", ondelete="CASCADE"), index=True)


class Price(Base):
    """One tax-inclusive price of a SKU in a zone and currency, valid from a time until the
    next one. Rows are never updated: the history explains every past order."""

    __tablename__ = "prices"
    __table_args__ = (
        # Also the index of resolution: "the newest row at or before t" for a set of SKUs.
        UniqueConstraint("sku", "zone_code", "currency", "valid_from"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("compare_at_amount IS NULL OR compare_at_amount > amount", name="compare_at_above_price"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    sku: Mapped[str] = mapped_column(String(64))
    zone_code: Mapped[str] = mapped_column(ForeignKey("price_zones.code"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int]
    # The "was" price shown next to the price; display only, never an input of a discount.
    compare_at_amount: Mapped[int | None]
    valid_from: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Promotion(Base):
    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('percent_off_items','amount_off_items','fixed_price_items','buy_x_get_y',"
            "'order_percent_off','order_amount_off','spend_threshold','free_delivery')",
            name="kind_known",
        ),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="window_not_empty"),
        CheckConstraint("percent_bp BETWEEN 0 AND 10000", name="percent_bp_range"),
        CheckConstraint("reward_percent_bp BETWEEN 0 AND 10000", name="reward_percent_bp_range"),
        CheckConstraint(
            "amount >= 0 AND fixed_price >= 0 AND buy_quantity >= 0 AND get_quantity >= 0"
            " AND min_subtotal >= 0 AND min_quantity >= 0",
            name="parameters_not_negative",
        ),
        CheckConstraint("times_used >= 0", name="times_used_not_negative"),
        CheckConstraint("usage_limit IS NULL OR times_used <= usage_limit", name="within_usage_limit"),
        # The live automatic promotions are loaded on every quote.
        Index(
            "ix_promotions_automatic_live",
            "starts_at",
            postgresql_where=text("archived_at IS NULL AND requires_code = false"),
        ),
        Index("ix_promotions_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=0)
    combinable: Mapped[bool] = mapped_column(default=True)
    requires_code: Mapped[bool] = mapped_column(default=False)
    currency: Mapped[str | None] = mapped_column(String(3))
    percent_bp: Mapped[int] = mapped_column(default=0)
    amount: Mapped[int] = mapped_column(default=0)
    fixed_price: Mapped[int] = mapped_column(default=0)
    buy_quantity: Mapped[int] = mapped_column(default=0)
    get_quantity: Mapped[int] = mapped_column(default=0)
    reward_percent_bp: Mapped[int] = mapped_column(default=10000)
    tiers: Mapped[list[Any]] = mapped_column(JSONB, default=list)  # [[threshold, amount], ...]
    target_skus: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    target_products: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID), default=list)
    target_categories: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    min_subtotal: Mapped[int] = mapped_column(default=0)
    min_quantity: Mapped[int] = mapped_column(default=0)
    loyalty_tiers: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    first_order_only: Mapped[bool] = mapped_column(default=False)
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    usage_limit: Mapped[int | None]
    usage_limit_per_customer: Mapped[int | None]
    # Live redemptions, counted only while a total limit exists, so an unlimited promotion
    # is no hot row every order must lock; introducing a limit recounts from redemptions.
    times_used: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    archived_at: Mapped[datetime | None]


class PromotionCode(Base):
    """A coupon code (stored upper-case) unlocking one promotion: single-use, multi-use or unlimited."""

    __tablename__ = "promotion_codes"
    __table_args__ = (
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint("times_used >= 0", name="times_used_not_negative"),
        CheckConstraint("max_uses IS NULL OR times_used <= max_uses", name="within_max_uses"),
        Index("ix_promotion_codes_promotion", "promotion_id", "code"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id"))
    max_uses: Mapped[int | None]
    times_used: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class CustomerUse(Base):
    """How often a customer redeemed a promotion that has a per-customer limit."""

    __tablename__ = "promotion_customer_uses"
    __table_args__ = (CheckConstraint("times_used >= 0", name="times_used_not_negative"),)

    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    times_used: Mapped[int] = mapped_column(default=0, server_default="0")


class Redemption(Base):
    """A promotion used by an order; a cancellation marks it given back."""

    __tablename__ = "promotion_redemptions"
    __table_args__ = (
        UniqueConstraint("order_id", "promotion_id"),
        Index("ix_promotion_redemptions_promotion", "promotion_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID)
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id"))
    code: Mapped[str | None] = mapped_column(ForeignKey("promotion_codes.code"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    amount: Mapped[int]
    redeemed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    given_back_at: Mapped[datetime | None]
