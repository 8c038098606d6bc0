"""Every SQL statement of pricing."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.pricing.models import (
    DEFAULT_ZONE,
    CustomerUse,
    DeliveryFee,
    Price,
    PriceZone,
    Promotion,
    PromotionCode,
    Redemption,
    ZoneArea,
)

# ---- zones -------------------------------------------------------------------------------


async def ensure_default_zone(session: AsyncSession) -> None:
    """The default zone always exists (the migration seeds it; this repairs an emptied table)."""
    await session.execute(
        insert(PriceZone).values(code=DEFAULT_ZONE, name="Default").on_conflict_do_nothing(index_elements=["code"])
    )


async def insert_zone(session: AsyncSession, code: str, name: str) -> bool:
    inserted = await session.execute(
        insert(PriceZone)
        .values(code=code, name=name)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(PriceZone.code)
    )
    return inserted.first() is not None


async def get_zone(session: AsyncSession, code: str, *, lock: bool = False) -> PriceZone | None:
    query = select(PriceZone).where(PriceZone.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    zone: PriceZone | None = (await session.scalars(query)).first()
    return zone


async def zone_page(session: AsyncSession, after: str | None, limit: int) -> list[PriceZone]:
    query = select(PriceZone).order_by(PriceZone.code).limit(limit + 1)
    if after is not None:
        query = query.where(PriceZone.code > after)
    return list((await session.scalars(query)).all())


async def fees_and_areas(session: AsyncSession, codes: Sequence[str]) -> tuple[list[DeliveryFee], list[ZoneArea]]:
    fees = await session.scalars(
        select(DeliveryFee).where(DeliveryFee.zone_code.in_(codes)).order_by(DeliveryFee.currency)
    )
    areas = await session.scalars(
        select(ZoneArea).where(ZoneArea.zone_code.in_(codes)).order_by(ZoneArea.country, ZoneArea.postal_prefix)
    )
    return list(fees.all()), list(areas.all())


async def replace_fees(session: AsyncSession, code: str, fees: Iterable[tuple[str, int]]) -> None:
    await session.execute(delete(DeliveryFee).where(DeliveryFee.zone_code == code))
    rows = [{"zone_code": code, "currency": currency, "amount": amount} for currency, amount in fees]
    if rows:
        await session.execute(insert(DeliveryFee).values(rows))


async def areas_of_other_zones(session: AsyncSession, code: str, areas: Sequence[tuple[str, str]]) -> list[Any]:
    if not areas:
        return []
    rows = await session.execute(
        select(ZoneArea.country, ZoneArea.postal_prefix, ZoneArea.zone_code).where(
            func.row(ZoneArea.country, ZoneArea.postal_prefix).in_([func.row(c, p) for c, p in areas]),
            ZoneArea.zone_code != code,
        )
    )
    return list(rows.all())


async def replace_areas(session: AsyncSession, code: str, areas: Iterable[tuple[str, str]]) -> None:
    await session.execute(delete(ZoneArea).where(ZoneArea.zone_code == code))
    rows = [{"zone_code": code, "country": country, "postal_prefix": prefix} for country, prefix in areas]
    if rows:
        await session.execute(insert(ZoneArea).values(rows))


async def zone_for_address(session: AsyncSession, country: str, postal_code: str) -> str | None:
    """The zone of the longest postal prefix of the country that the postal code starts with."""
    zone: str | None = await session.scalar(
        select(ZoneArea.zone_code)
        .where(ZoneArea.country == country, func.starts_with(postal_code, ZoneArea.postal_prefix))
        .order_by(func.length(ZoneArea.postal_prefix).desc())
        .limit(1)
    )
    return zone


# ---- prices ------------------------------------------------------------------------------


async def insert_price(session: AsyncSession, **values: Any) -> Price | None:
    """The new price, or None when one already starts at that instant."""
    price: Price | None = (
        await session.scalars(
            insert(Price)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["sku", "zone_code", "currency", "valid_from"])
            .returning(Price)
        )
    ).first()
    return price


async def get_price(session: AsyncSession, price_id: uuid.UUID) -> Price | None:
    return await session.get(Price, price_id)


async def delete_price(session: AsyncSession, price_id: uuid.UUID) -> None:
    await session.execute(delete(Price).where(Price.id == price_id))


async def price_history(
    session: AsyncSession,
    sku: str,
    zone: str | None,
    currency: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
    started_by: datetime | None = None,
) -> list[Price]:
    """Newest first (scheduled ones on top), keyset on (valid_from, id); with `started_by`,
    only prices that had started by then (none scheduled)."""
    query = select(Price).where(Price.sku == sku)
    if started_by is not None:
        query = query.where(Price.valid_from <= started_by)
    if zone is not None:
        query = query.where(Price.zone_code == zone)
    if currency is not None:
        query = query.where(Price.currency == currency)
    if after is not None:
        query = query.where(func.row(Price.valid_from, Price.id) < func.row(after[0], uuid.UUID(after[1])))
    query = query.order_by(Price.valid_from.desc(), Price.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())


# ---- promotions --------------------------------------------------------------------------


async def add_promotion(session: AsyncSession, promotion: Promotion) -> None:
    session.add(promotion)
    await session.flush()


async def get_promotion(session: AsyncSession, promotion_id: uuid.UUID, *, lock: bool = False) -> Promotion | None:
    query = select(Promotion).where(Promotion.id == promotion_id)
    if lock:  # the locked row is the truth: refresh whatever this session had loaded before
        query = query.with_for_update().execution_options(populate_existing=True)
    promotion: Promotion | None = (await session.scalars(query)).first()
    return promotion


async def promotion_page(
    session: AsyncSession,
    after: tuple[datetime, str] | None,
    limit: int,
    *,
    archived: bool,
    live_without_code: tuple[datetime, str | None] | None = None,
) -> list[Promotion]:
    """With `live_without_code=(now, channel)`: only promotions running at `now`, needing no
    code, and open to that channel (a shopper's view)."""
    query = select(Promotion)
    if not archived or live_without_code is not None:
        query = query.where(Promotion.archived_at.is_(None))
    if live_without_code is not None:
        now, channel = live_without_code
        query = query.where(
            Promotion.requires_code.is_(False),
            Promotion.starts_at <= now,
            or_(Promotion.ends_at.is_(None), Promotion.ends_at > now),
            or_(
                func.coalesce(func.cardinality(Promotion.channels), 0) == 0,
                Promotion.channels.any(channel or ""),  # type: ignore[arg-type]
            ),
        )
    if after is not None:
        query = query.where(func.row(Promotion.created_at, Promotion.id) < func.row(after[0], uuid.UUID(after[1])))
    query = query.order_by(Promotion.created_at.desc(), Promotion.id.desc()).limit(limit + 1)
    return list((await session.scalars(query)).all())


async def live_redemptions(session: AsyncSession, promotion_id: uuid.UUID) -> int:
    """Redemptions of the promotion not given back (what a newly introduced limit starts from)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Redemption)
        .where(Redemption.promotion_id == promotion_id, Redemption.given_back_at.is_(None))
    )
    return int(count or 0)


async def recount_customer_uses(session: AsyncSession, promotion_id: uuid.UUID, *, limited: bool) -> None:
    """Rebuild the per-customer counters from the live redemptions (or drop them)."""
    await session.execute(delete(CustomerUse).where(CustomerUse.promotion_id == promotion_id))
    if not limited:
        return
    per_customer = (
        select(Redemption.promotion_id, Redemption.customer_id, func.count())
        .where(
            Redemption.promotion_id == promotion_id,
            Redemption.given_back_at.is_(None),
            Redemption.customer_id.is_not(None),
        )
        .group_by(Redemption.promotion_id, Redemption.customer_id)
    )
    await session.execute(insert(CustomerUse).from_select(["promotion_id", "customer_id", "times_used"], per_customer))


async def insert_codes(
    session: AsyncSession, promotion_id: uuid.UUID, codes: Sequence[str], max_uses: int | None
) -> list[str]:
    """Insert the codes that are free; returns those inserted."""
    inserted = await session.scalars(
        insert(PromotionCode)
        .values([{"code": code, "promotion_id": promotion_id, "max_uses": max_uses} for code in codes])
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(PromotionCode.code)
    )
    return list(inserted.all())


async def code_page(
    session: AsyncSession, promotion_id: uuid.UUID, after: str | None, limit: int
) -> list[PromotionCode]:
    query = select(PromotionCode).where(PromotionCode.promotion_id == promotion_id)
    if after is not None:
        query = query.where(PromotionCode.code > after)
    return list((await session.scalars(query.order_by(PromotionCode.code).limit(limit + 1))).all())


# ---- quoting -----------------------------------------------------------------------------


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


# ---- redemptions -------------------------------------------------------------------------


async def limits_of(session: AsyncSession, promotion_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = await session.execute(
        select(Promotion.id, Promotion.usage_limit, Promotion.usage_limit_per_customer).where(
            Promotion.id.in_(promotion_ids)
        )
    )
    return {row.id: row for row in rows}


async def redeemed_promotions(session: AsyncSession, order_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(select(Redemption.promotion_id).where(Redemption.order_id == order_id))
    return set(rows.all())


async def take_promotion_use(session: AsyncSession, promotion_id: uuid.UUID) -> bool:
    """One use of a limited promotion, if any is left. The row lock makes concurrent last
    uses queue: the second re-reads the committed count and finds none left."""
    taken = await session.execute(
        update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.times_used < Promotion.usage_limit)
        .values(times_used=Promotion.times_used + 1)
        .returning(Promotion.id)
    )
    return taken.first() is not None


async def code_limits(session: AsyncSession, codes: Sequence[str]) -> dict[str, int | None]:
    if not codes:
        return {}
    rows = await session.execute(
        select(PromotionCode.code, PromotionCode.max_uses).where(PromotionCode.code.in_(codes))
    )
    return {row.code: row.max_uses for row in rows}


async def take_code_use(session: AsyncSession, code: str) -> bool:
    """One use of a code with a maximum (codes without one are not counted: no hot row)."""
    taken = await session.execute(
        update(PromotionCode)
        .where(PromotionCode.code == code, PromotionCode.times_used < PromotionCode.max_uses)
        .values(times_used=PromotionCode.times_used + 1)
        .returning(PromotionCode.code)
    )
    return taken.first() is not None


async def take_customer_use(session: AsyncSession, promotion_id: uuid.UUID, customer_id: uuid.UUID, limit: int) -> bool:
    statement = insert(CustomerUse).values(promotion_id=promotion_id, customer_id=customer_id, times_used=1)
    taken = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["promotion_id", "customer_id"],
            set_={"times_used": CustomerUse.times_used + 1},
            where=CustomerUse.times_used < limit,
        ).returning(CustomerUse.times_used)
    )
    return taken.first() is not None


async def insert_redemptions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Redemption).values(rows))


async def give_back_redemptions(session: AsyncSession, order_id: uuid.UUID, at: datetime) -> list[Any]:
    """Mark the order's live redemptions given back; returns them (none when already done)."""
    rows = await session.execute(
        update(Redemption)
        .where(Redemption.order_id == order_id, Redemption.given_back_at.is_(None))
        .values(given_back_at=at)
        .returning(Redemption.promotion_id, Redemption.code, Redemption.customer_id)
    )
    return sorted(rows.all(), key=lambda r: r.promotion_id)


async def return_promotion_use(session: AsyncSession, promotion_id: uuid.UUID) -> None:
    await session.execute(
        update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.usage_limit.is_not(None), Promotion.times_used > 0)
        .values(times_used=Promotion.times_used - 1)
    )


async def return_code_use(session: AsyncSession, code: str) -> None:
    await session.execute(
        update(PromotionCode)
        .where(PromotionCode.code == code, PromotionCode.max_uses.is_not(None), PromotionCode.times_used > 0)
        .values(times_used=PromotionCode.times_used - 1)
    )


async def return_customer_use(session: AsyncSession, promotion_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(
        update(CustomerUse)
        .where(
            CustomerUse.promotion_id == promotion_id,
            CustomerUse.customer_id == customer_id,
            CustomerUse.times_used > 0,
        )
        .values(times_used=CustomerUse.times_used - 1)
    )


async def prices_around(
    session: AsyncSession, sku: str, zones: Sequence[str], currency: str, now: datetime
) -> tuple[list[Price], list[Price]]:
    """Per zone of `zones`: the price in force at `now` (latest `valid_from <= now`) and the
    next scheduled one (earliest `valid_from > now`), if any."""
    in_force = (
        select(Price)
        .where(Price.sku == sku, Price.zone_code.in_(list(zones)), Price.currency == currency, Price.valid_from <= now)
        .distinct(Price.zone_code)
        .order_by(Price.zone_code, Price.valid_from.desc(), Price.id.desc())
    )
    upcoming = (
        select(Price)
        .where(Price.sku == sku, Price.zone_code.in_(list(zones)), Price.currency == currency, Price.valid_from > now)
        .distinct(Price.zone_code)
        .order_by(Price.zone_code, Price.valid_from, Price.id)
    )
    return list((await session.scalars(in_force)).all()), list((await session.scalars(upcoming)).all())
