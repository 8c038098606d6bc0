"""Managing price zones, prices, promotions and codes (the merchandiser's use cases)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock, outbox
from app.core.errors import InvalidInput
from app.core.pagination import Keyset, Page
from app.pricing import repository, rules
from app.pricing.errors import (
    CodeExists,
    InvalidPromotion,
    PriceExists,
    PriceInPast,
    PriceNotScheduled,
    PriceRecordNotFound,
    PromotionNotFound,
    UnknownSku,
    UnknownZone,
    ZoneExists,
    ZoneNotFound,
)
from app.pricing.models import DEFAULT_ZONE, Price, PriceZone, Promotion, PromotionCode
from app.pricing.schemas import (
    CodesCreate,
    PriceCreate,
    PriceZoneCreate,
    PriceZoneUpdate,
    PromotionCreate,
    PromotionFields,
    PromotionUpdate,
    ZoneAreaIn,
)
from app.pricing.usecases.quoting import check_currency, normalize_code, postal_key

PRICE_ZONES = Keyset("price_zones", str)
PRICE_HISTORY = Keyset("prices", datetime, uuid.UUID)
PROMOTIONS = Keyset("promotions", datetime, uuid.UUID)
PROMOTION_CODES = Keyset("promotion_codes", str)

# ---- zones -------------------------------------------------------------------------------


def _areas(areas: Sequence[ZoneAreaIn]) -> list[tuple[str, str]]:
    return sorted({(area.country, postal_key(area.postal_prefix)) for area in areas})


def _fees(fees: Sequence[Any]) -> list[tuple[str, int]]:
    currencies = [fee.currency for fee in fees]
    for currency in currencies:
        check_currency(currency)
    if len(set(currencies)) != len(currencies):
        raise InvalidInput("one delivery fee per currency", code="duplicate_currency")
    return [(fee.currency, fee.amount) for fee in fees]


async def _set_areas(session: AsyncSession, code: str, areas: list[tuple[str, str]]) -> None:
    taken = await repository.areas_of_other_zones(session, code, areas)
    if taken:
        raise InvalidInput(
            "these areas belong to another zone; remove them there first",
            code="zone_area_taken",
            areas=[{"country": r.country, "postal_prefix": r.postal_prefix, "zone": r.zone_code} for r in taken],
        )
    await repository.replace_areas(session, code, areas)


async def create_zone(session: AsyncSession, body: PriceZoneCreate) -> PriceZone:
    fees = _fees(body.delivery_fees)
    if not await repository.insert_zone(session, body.code, body.name):
        raise ZoneExists(f"price zone {body.code} already exists")
    await repository.replace_fees(session, body.code, fees)
    await _set_areas(session, body.code, _areas(body.areas))
    return await get_zone(session, body.code)


async def update_zone(session: AsyncSession, code: str, body: PriceZoneUpdate) -> PriceZone:
    if code == DEFAULT_ZONE:
        await repository.ensure_default_zone(session)
    zone = await repository.get_zone(session, code, lock=True)
    if zone is None:
        raise ZoneNotFound(f"no price zone {code}")
    if body.name is not UNSET:
        zone.name = body.name
    if body.delivery_fees is not UNSET:
        await repository.replace_fees(session, code, _fees(body.delivery_fees))
    if body.areas is not UNSET:
        await _set_areas(session, code, _areas(body.areas))
    await session.flush()
    return zone


async def get_zone(session: AsyncSession, code: str) -> PriceZone:
    zone = await repository.get_zone(session, code)
    if zone is None:
        raise ZoneNotFound(f"no price zone {code}")
    return zone


async def zone_exists(session: AsyncSession, code: str) -> bool:
    """Whether a quote in `code` would find its zone (`default` always exists)."""
    return code == DEFAULT_ZONE or await repository.get_zone(session, code) is not None


async def list_zones(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[PriceZone]:
    after = PRICE_ZONES.after(cursor)
    rows = await repository.zone_page(session, after[0] if after else None, limit)
    return PRICE_ZONES.page(rows, limit, lambda z: [z.code])


async def zone_details(session: AsyncSession, codes: Sequence[str]) -> tuple[list[Any], list[Any]]:
    """Delivery fees and areas of the zones (one query each, for a page of zones)."""
    return await repository.fees_and_areas(session, codes)


# ---- prices ------------------------------------------------------------------------------


async def set_price(session: AsyncSession, body: PriceCreate) -> Price:
    """Schedule a price (history is never rewritten: a price cannot start in the past)."""
    now = clock.now()
    valid_from = body.valid_from or now
    if valid_from < now:
        raise PriceInPast("valid_from is in the past; past prices explain past orders and stay as they were")
    check_currency(body.currency)
    if body.compare_at_amount is not None and body.compare_at_amount <= body.amount:
        raise InvalidInput("a compare-at price must be above the price", code="compare_at_not_above_price")
    if body.sku not in await catalog.variant_facts(session, [body.sku]):
        raise UnknownSku(f"not in the catalog: {body.sku}", skus=[body.sku])
    if body.zone == DEFAULT_ZONE:
        await repository.ensure_default_zone(session)
    elif await repository.get_zone(session, body.zone) is None:
        raise UnknownZone(f"no price zone {body.zone!r}", zone=body.zone)
    price = await repository.insert_price(
        session,
        sku=body.sku,
        zone_code=body.zone,
        currency=body.currency,
        amount=body.amount,
        compare_at_amount=body.compare_at_amount,
        valid_from=valid_from,
    )
    if price is None:
        raise PriceExists(f"a {body.currency} price of {body.sku} in {body.zone} already starts at {valid_from}")
    await outbox.record(
        session,
        "price.scheduled",
        aggregate_type="sku",
        aggregate_id=body.sku,
        payload={
            "price_id": str(price.id),
            "sku": body.sku,
            "zone": body.zone,
            "currency": body.currency,
            "amount": body.amount,
            "compare_at_amount": body.compare_at_amount,
            "valid_from": valid_from.isoformat(),
        },
    )
    return price


async def price_history(
    session: AsyncSession,
    sku: str,
    *,
    zone: str | None,
    currency: str | None,
    cursor: str | None,
    limit: int,
    shopper_view: bool = False,
) -> Page[Price]:
    """With `shopper_view`, no price scheduled for later: a storefront must not learn
    tomorrow's price change today."""
    after = PRICE_HISTORY.after(cursor, scope=(sku, zone, currency))
    key = (after[0], str(after[1])) if after else None
    started_by = clock.now() if shopper_view else None
    rows = await repository.price_history(session, sku, zone, currency, key, limit, started_by)
    return PRICE_HISTORY.page(rows, limit, lambda p: [p.valid_from, p.id], scope=(sku, zone, currency))


async def withdraw_price(session: AsyncSession, price_id: uuid.UUID) -> None:
    """Withdraw a scheduled price before it starts; one in force stays in the history."""
    price = await repository.get_price(session, price_id)
    if price is None:
        raise PriceRecordNotFound(f"no price {price_id}")
    if price.valid_from <= clock.now():
        raise PriceNotScheduled("this price has started; schedule a new one instead")
    await repository.delete_price(session, price_id)


# ---- promotions --------------------------------------------------------------------------

_DEFAULTS: dict[str, Any] = {
    "ends_at": None,
    "priority": 0,
    "combinable": True,
    "requires_code": False,
    "currency": None,
    "percent_bp": 0,
    "amount": 0,
    "fixed_price": 0,
    "buy_quantity": 0,
    "get_quantity": 0,
    "reward_percent_bp": rules.BP,
    "tiers": [],
    "target_skus": [],
    "target_products": [],
    "target_categories": [],
    "min_subtotal": 0,
    "min_quantity": 0,
    "loyalty_tiers": [],
    "first_order_only": False,
    "channels": [],
    "usage_limit": None,
    "usage_limit_per_customer": None,
    "times_used": 0,
}


def _apply_fields(promotion: Promotion, body: PromotionFields) -> None:
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is UNSET or name == "kind":
            continue
        if name == "tiers":
            promotion.tiers = [[tier.threshold, tier.amount] for tier in value]
        elif name == "target":
            promotion.target_skus = sorted(set(value.skus))
            promotion.target_products = sorted(set(value.products))
            promotion.target_categories = sorted(set(value.categories))
        elif name in ("channels", "loyalty_tiers"):
            setattr(promotion, name, sorted({str(v) for v in value}))
        else:
            setattr(promotion, name, value)


def _check(promotion: Promotion) -> None:
    if promotion.currency is not None:
        check_currency(promotion.currency)
    problems = rules.promotion_problems(repository.as_rule(promotion))
    if problems:
        raise InvalidPromotion("; ".join(problems), problems=problems)


async def _check_target_skus(session: AsyncSession, promotion: Promotion) -> None:
    """A promotion naming a SKU the catalog does not know would silently never apply."""
    skus = promotion.target_skus or []
    known = await catalog.variant_facts(session, skus) if skus else {}
    unknown = [sku for sku in skus if sku not in known]
    if unknown:
        raise UnknownSku(f"not in the catalog: {', '.join(unknown[:20])}", field="target.skus", skus=unknown[:100])


async def create_promotion(session: AsyncSession, body: PromotionCreate) -> Promotion:
    now = clock.now()
    promotion = Promotion(id=uuid.uuid4(), kind=body.kind.value, created_at=now, updated_at=now, **_DEFAULTS)
    _apply_fields(promotion, body)
    _check(promotion)
    await _check_target_skus(session, promotion)
    await repository.add_promotion(session, promotion)
    return promotion


async def update_promotion(session: AsyncSession, promotion_id: uuid.UUID, body: PromotionUpdate) -> Promotion:
    promotion = await repository.get_promotion(session, promotion_id, lock=True)
    if promotion is None:
        raise PromotionNotFound(f"no promotion {promotion_id}")
    old_limit, old_per_customer = promotion.usage_limit, promotion.usage_limit_per_customer
    _apply_fields(promotion, body)
    _check(promotion)
    await _check_target_skus(session, promotion)
    if promotion.usage_limit is None:
        promotion.times_used = 0
    elif old_limit is None:  # a new limit counts the uses made while there was none
        promotion.times_used = await repository.live_redemptions(session, promotion_id)
    if promotion.usage_limit is not None and promotion.times_used > promotion.usage_limit:
        raise InvalidPromotion(
            f"usage_limit is below the {promotion.times_used} uses already made", problems=["usage_limit"]
        )
    promotion.updated_at = clock.now()
    await session.flush()
    if (old_per_customer is None) != (promotion.usage_limit_per_customer is None):
        await repository.recount_customer_uses(
            session, promotion_id, limited=promotion.usage_limit_per_customer is not None
        )
    return promotion


async def get_promotion(
    session: AsyncSession, promotion_id: uuid.UUID, *, shopper_channel: str | None = None, shopper_view: bool = False
) -> Promotion:
    """With `shopper_view`, a promotion a shopper may not see (needs a code, not running, not
    for this channel) is not found."""
    promotion = await repository.get_promotion(session, promotion_id)
    if promotion is None or (shopper_view and not _shown_to_shoppers(promotion, shopper_channel)):
        raise PromotionNotFound("no such promotion")
    return promotion


def _shown_to_shoppers(promotion: Promotion, channel: str | None) -> bool:
    now = clock.now()
    return (
        promotion.archived_at is None
        and not promotion.requires_code
        and promotion.starts_at <= now
        and (promotion.ends_at is None or promotion.ends_at > now)
        and (not promotion.channels or channel in promotion.channels)
    )


async def list_promotions(
    session: AsyncSession,
    *,
    cursor: str | None,
    limit: int,
    archived: bool = False,
    shopper_channel: str | None = None,
    shopper_view: bool = False,
) -> Page[Promotion]:
    """With `shopper_view`: only running promotions that need no code and are open to
    `shopper_channel` (codes are handed out by the retailer, not listed)."""
    after = PROMOTIONS.after(cursor)
    key = (after[0], str(after[1])) if after else None
    live = (clock.now(), shopper_channel) if shopper_view else None
    rows = await repository.promotion_page(session, key, limit, archived=archived, live_without_code=live)
    return PROMOTIONS.page(rows, limit, lambda p: [p.created_at, p.id])


async def archive_promotion(session: AsyncSession, promotion_id: uuid.UUID) -> None:
    """Stop a promotion for good; orders that used it keep their snapshots."""
    promotion = await repository.get_promotion(session, promotion_id, lock=True)
    if promotion is None:
        raise PromotionNotFound(f"no promotion {promotion_id}")
    if promotion.archived_at is None:
        promotion.archived_at = clock.now()
        await session.flush()


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed


async def add_codes(session: AsyncSession, promotion_id: uuid.UUID, body: CodesCreate) -> tuple[list[str], int | None]:
    """One named code, or N unique random ones; returns (codes, max_uses)."""
    if (body.code is None) == (body.generate is None):
        raise InvalidInput("give either `code` or `generate`", code="invalid_codes_request")
    promotion = await repository.get_promotion(session, promotion_id)
    if promotion is None or promotion.archived_at is not None:
        raise PromotionNotFound(f"no live promotion {promotion_id}")
    if body.code is not None:
        code = normalize_code(body.code)
        if not await repository.insert_codes(session, promotion_id, [code], body.max_uses):
            raise CodeExists(f"code {code} already exists")
        return [code], body.max_uses
    max_uses = body.max_uses or 1
    wanted = body.generate or 0
    prefix = normalize_code(body.prefix) if body.prefix else ""
    created: list[str] = []
    for _ in range(5):  # 50 random bits per code: a clash is rare, a second round rarer still
        batch = {prefix + "".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(wanted - len(created))}
        created += await repository.insert_codes(session, promotion_id, sorted(batch), max_uses)
        if len(created) == wanted:
            break
    return sorted(created), max_uses


async def list_codes(
    session: AsyncSession, promotion_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[PromotionCode]:
    await get_promotion(session, promotion_id)
    after = PROMOTION_CODES.after(cursor, scope=promotion_id)
    rows = await repository.code_page(session, promotion_id, after[0] if after else None, limit)
    return PROMOTION_CODES.page(rows, limit, lambda c: [c.code], scope=promotion_id)
