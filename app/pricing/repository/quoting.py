"""The quote's statement: prices, live promotions and offered codes in one round trip."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.pricing.models import DEFAULT_ZONE


class PriceRow(msgspec.Struct, frozen=True, array_like=True):
    sku: str
    amount: int
    compare_at_amount: int | None


class PromotionRow(msgspec.Struct, frozen=True):
    """A `promotions` row as the quote reads it, with the quoted customer's uses."""

    id: str
    name: str
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    priority: int
    combinable: bool
    requires_code: bool
    currency: str | None
    percent_bp: int
    amount: int
    fixed_price: int
    buy_quantity: int
    get_quantity: int
    reward_percent_bp: int
    tiers: list[tuple[int, int]]
    target_skus: list[str]
    target_products: list[str]
    target_categories: list[str]
    min_subtotal: int
    min_quantity: int
    loyalty_tiers: list[str]
    first_order_only: bool
    channels: list[str]
    usage_limit: int | None
    times_used: int
    usage_limit_per_customer: int | None
    customer_uses: int


class CodeRow(msgspec.Struct, frozen=True, array_like=True):
    code: str
    promotion_id: str
    max_uses: int | None
    times_used: int


class QuoteFacts(msgspec.Struct, frozen=True):
    zone: str
    zone_exists: bool
    fee: int  # home delivery in the currency; 0 when the zone sets none
    prices: list[PriceRow]
    promotions: list[PromotionRow]
    codes: list[CodeRow]


# Everything a quote reads of pricing in one statement on the driver (one round trip, no
# SQLAlchemy per-statement work), as one JSON document decoded straight into QuoteFacts.
# $1 skus, $2 zone (NULL: the address' zone), $3 country, $4 postal key, $5 currency, $6 the
# instant, $7 offered codes, $8 customer. Prices: the zone's own, else the default zone's.
# Promotions: the automatic ones live at $6, plus those the codes point at whatever their
# window (to say why not).
_QUOTE_FACTS = f"""
WITH zone AS (
    SELECT coalesce(
        $2::text,
        (SELECT a.zone_code FROM price_zone_areas a
         WHERE a.country = $3::text AND starts_with($4::text, a.postal_prefix)
         ORDER BY length(a.postal_prefix) DESC LIMIT 1),
        '{DEFAULT_ZONE}'
    ) AS code
), price AS (
    SELECT DISTINCT ON (p.sku) p.sku, p.amount, p.compare_at_amount
    FROM prices p, zone
    WHERE p.sku = ANY($1::text[]) AND p.currency = $5::text
      AND p.zone_code IN (zone.code, '{DEFAULT_ZONE}') AND p.valid_from <= $6::timestamptz
    ORDER BY p.sku, p.zone_code <> zone.code, p.valid_from DESC
), code AS (
    SELECT c.code, c.promotion_id, c.max_uses, c.times_used FROM promotion_codes c WHERE c.code = ANY($7::text[])
), promotion AS (
    SELECT to_jsonb(m) || jsonb_build_object('customer_uses', coalesce(u.times_used, 0)) AS row
    FROM promotions m
    LEFT JOIN promotion_customer_uses u ON u.promotion_id = m.id AND u.customer_id = $8::uuid
    WHERE m.archived_at IS NULL
      AND (
        (m.requires_code = false AND m.starts_at <= $6 AND (m.ends_at IS NULL OR m.ends_at > $6))
        OR m.id IN (SELECT code.promotion_id FROM code)
      )
)
SELECT json_build_object(
    'zone', zone.code,
    'zone_exists', EXISTS (SELECT FROM price_zones z WHERE z.code = zone.code),
    'fee', coalesce(
        (SELECT f.amount FROM price_zone_delivery_fees f WHERE f.zone_code = zone.code AND f.currency = $5::text), 0
    ),
    'prices', (SELECT coalesce(json_agg(json_build_array(sku, amount, compare_at_amount)), '[]') FROM price),
    'promotions', (SELECT coalesce(json_agg(row), '[]') FROM promotion),
    'codes', (SELECT coalesce(json_agg(json_build_array(code, promotion_id, max_uses, times_used)), '[]') FROM code)
)::text
FROM zone
"""


_decode_quote_facts = msgspec.json.Decoder(QuoteFacts).decode


async def quote_facts(
    session: AsyncSession,
    *,
    skus: Sequence[str],
    zone: str | None,
    address: tuple[str, str] | None,
    currency: str,
    at: datetime,
    codes: Sequence[str],
    customer_id: uuid.UUID | None,
) -> QuoteFacts:
    """The zone (`zone`, else the one of the longest postal prefix of the address' country
    that its postal key starts with, else the default zone), whether it exists and its fee,
    the prices in force, the promotions and the code rows of a quote."""
    country, postal = address if zone is None and address is not None else (None, "")
    document = await db.fetchval(
        session, _QUOTE_FACTS, list(skus), zone, country, postal, currency, at, list(codes), customer_id
    )
    return _decode_quote_facts(document)
