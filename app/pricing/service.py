"""Pricing use cases: price zones, the price history, promotions and codes, quotes, redemptions.

Public functions (other domains call only these):

- `quote(session, request: QuoteInput, *, now: datetime | None = None) -> Quote`
  Prices lines for a zone and currency at `now` (default: the clock): resolves each SKU's
  price in force (the zone's own price, else the default zone's), loads the live promotions
  and the offered codes (two queries) and runs the engine (`rules.price`). Customer facts
  (loyalty tier, first order) come from the caller. The channel is read only by promotions
  explicitly restricted to channels. `Quote.result.lines` are the per-line snapshots
  (`rules.LineSnapshot`) an order stores verbatim. Raises `UnknownSku`, `PriceNotFound`,
  `UnknownZone`, `UnsupportedCurrency` (422); an unusable code is never an error, it gets a
  reason in `Quote.result.codes`.
- `redeem(session, *, quote: Quote, order_id: UUID, customer_id: UUID | None = None) -> list[UUID]`
  At order placement, in the order's transaction: takes one use of every promotion and code
  the quote applied, atomically (conditional UPDATEs, rows in a fixed order). Raises
  `UsageLimitReached` (409 `usage_limit_reached`) when a last use was taken meanwhile — the
  caller rolls back and re-quotes. Idempotent per order.
- `give_back(session, *, order_id: UUID) -> int`
  On cancellation: returns the order's uses to their promotions and codes (idempotent).
- `resolve_zone(session, *, zone=None, country=None, postal_code=None, location_code=None) -> str`
  The price zone of an explicit zone, a pickup store, or a delivery address; else `default`.
- `use_store_zones(lookup)`: wiring (app/main.py) hands in how to read a store's zone
  (`locations.zone`, owned by inventory) — pricing does not import inventory.

HTTP-facing use cases: `create_zone`, `update_zone`, `get_zone`, `list_zones`, `set_price`,
`price_history`, `withdraw_price`, `create_promotion`, `update_promotion`, `get_promotion`,
`list_promotions`, `archive_promotion`, `add_codes`, `list_codes`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock, outbox
from app.core.errors import InvalidInput
from app.core.money import is_supported
from app.core.pagination import Page, decode_cursor, page_of
from app.pricing import repository, rules
from app.pricing.errors import (
    CodeExists,
    InvalidPromotion,
    PriceExists,
    PriceInPast,
    PriceNotFound,
    PriceNotScheduled,
    PriceRecordNotFound,
    PromotionNotFound,
    UnknownSku,
    UnknownZone,
    UnsupportedCurrency,
    UsageLimitReached,
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

# ---- public types ------------------------------------------------------------------------


class QuoteLine(msgspec.Struct, frozen=True):
    sku: str
    quantity: int


class QuoteInput(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    lines: tuple[QuoteLine, ...]
    zone: str = DEFAULT_ZONE
    codes: tuple[str, ...] = ()
    customer_id: uuid.UUID | None = None
    loyalty_tier: str | None = None
    first_order: bool = False
    channel: str | None = None  # from the caller's key; read only by channel-restricted promotions
    home_delivery: bool = False  # the zone's delivery fee applies; pickup (or not chosen yet): none


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    priced_at: datetime
    customer_id: uuid.UUID | None
    result: rules.PricingResult
    compare_at: dict[str, int]  # sku -> the "was" price, display only
    promotion_names: dict[str, str]


StoreZoneLookup = Callable[[AsyncSession, str], Awaitable[str | None]]
_store_zone: list[StoreZoneLookup] = []


def use_store_zones(lookup: StoreZoneLookup) -> None:
    _store_zone[:] = [lookup]


def normalize_code(code: str) -> str:
    return code.strip().upper()


def _postal(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _supported(currency: str) -> None:
    if not is_supported(currency):
        raise UnsupportedCurrency(f"{currency} is not a supported currency", currency=currency)


# ---- quote -------------------------------------------------------------------------------


async def resolve_zone(
    session: AsyncSession,
    *,
    zone: str | None = None,
    country: str | None = None,
    postal_code: str | None = None,
    location_code: str | None = None,
) -> str:
    if zone is not None:
        return zone
    if location_code is not None and _store_zone:
        return await _store_zone[0](session, location_code) or DEFAULT_ZONE
    if country is not None:
        return await repository.zone_for_address(session, country, _postal(postal_code or "")) or DEFAULT_ZONE
    return DEFAULT_ZONE


async def quote(session: AsyncSession, request: QuoteInput, *, now: datetime | None = None) -> Quote:
    at = now or clock.now()
    _supported(request.currency)
    skus = sorted({line.sku for line in request.lines})
    facts = await catalog.variant_facts(session, skus)
    unknown = [sku for sku in skus if sku not in facts]
    if unknown:
        raise UnknownSku(f"not in the catalog: {', '.join(unknown)}", skus=unknown)
    exists, fee = await repository.zone_fee(session, request.zone, request.currency)
    if not exists and request.zone != DEFAULT_ZONE:
        raise UnknownZone(f"no price zone {request.zone!r}", zone=request.zone)
    prices = {row.sku: row for row in await repository.prices_at(session, skus, request.zone, request.currency, at)}
    unpriced = [sku for sku in skus if sku not in prices]
    if unpriced:
        raise PriceNotFound(
            f"no {request.currency} price in zone {request.zone} for: {', '.join(unpriced)}",
            skus=unpriced,
            currency=request.currency,
            zone=request.zone,
        )
    codes = tuple(dict.fromkeys(normalize_code(code) for code in request.codes))
    promotions = await repository.live_promotions(session, at, codes, request.customer_id)
    code_rows = await repository.codes_by_name(session, codes)
    lines = tuple(
        rules.Line(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=prices[line.sku].amount,
            product_id=str(facts[line.sku].product_id),
            categories=frozenset(facts[line.sku].category_path),
        )
        for line in request.lines
    )
    result = rules.price(
        rules.PricingInput(
            currency=request.currency,
            lines=lines,
            now=at,
            zone=request.zone,
            promotions=tuple(_rule_of(row.Promotion, row.customer_uses) for row in promotions),
            codes=codes,
            code_facts={
                row.code: rules.CodeFacts(
                    code=row.code, promotion_id=str(row.promotion_id), max_uses=row.max_uses, times_used=row.times_used
                )
                for row in code_rows
            },
            customer=rules.Customer(
                id=str(request.customer_id) if request.customer_id else None,
                loyalty_tier=request.loyalty_tier,
                first_order=request.first_order,
            ),
            channel=request.channel,
            delivery_fee=fee if request.home_delivery else 0,
        )
    )
    return Quote(
        priced_at=at,
        customer_id=request.customer_id,
        result=result,
        compare_at={sku: row.compare_at_amount for sku, row in prices.items() if row.compare_at_amount is not None},
        promotion_names={str(row.Promotion.id): row.Promotion.name for row in promotions},
    )


def _rule_of(promotion: Promotion, customer_uses: int = 0) -> rules.Promotion:
    return rules.Promotion(
        id=str(promotion.id),
        kind=rules.Kind(promotion.kind),
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        priority=promotion.priority,
        combinable=promotion.combinable,
        requires_code=promotion.requires_code,
        currency=promotion.currency,
        percent_bp=promotion.percent_bp,
        amount=promotion.amount,
        fixed_price=promotion.fixed_price,
        buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity,
        reward_percent_bp=promotion.reward_percent_bp,
        tiers=tuple(rules.Tier(threshold, amount) for threshold, amount in promotion.tiers),
        target=rules.Target(
            skus=frozenset(promotion.target_skus),
            products=frozenset(str(p) for p in promotion.target_products),
            categories=frozenset(promotion.target_categories),
        ),
        min_subtotal=promotion.min_subtotal,
        min_quantity=promotion.min_quantity,
        loyalty_tiers=frozenset(promotion.loyalty_tiers),
        first_order_only=promotion.first_order_only,
        channels=frozenset(promotion.channels),
        usage_limit=promotion.usage_limit,
        times_used=promotion.times_used,
        usage_limit_per_customer=promotion.usage_limit_per_customer,
        customer_uses=customer_uses,
    )


# ---- redemptions -------------------------------------------------------------------------


async def redeem(
    session: AsyncSession, *, quote: Quote, order_id: uuid.UUID, customer_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Take the uses the quote's promotions and codes need; the ids of the promotions redeemed."""
    customer_id = customer_id or quote.customer_id
    done = await repository.redeemed_promotions(session, order_id)
    todo = sorted(
        ((uuid.UUID(d.promotion_id), d.code, d.amount) for d in quote.result.discounts),
        key=lambda item: item[0],
    )
    todo = [item for item in todo if item[0] not in done]
    if not todo:
        return []
    limits = await repository.limits_of(session, [pid for pid, _, _ in todo])
    code_limits = await repository.code_limits(session, [code for _, code, _ in todo if code])
    # Rows are always locked promotions first, then codes, then customers, each sorted:
    # concurrent orders queue on the same rows but never wait on each other in a cycle.
    for pid, _, _ in todo:
        limit = limits.get(pid)
        if limit is None:
            raise PromotionNotFound(f"promotion {pid} no longer exists")
        if limit.usage_limit is not None and not await repository.take_promotion_use(session, pid):
            raise UsageLimitReached("the promotion's last use was just taken", promotion_id=str(pid))
    for code in sorted(code for code, max_uses in code_limits.items() if max_uses is not None):
        if not await repository.take_code_use(session, code):
            raise UsageLimitReached(f"code {code} has no use left", code=code)
    for pid, _, _ in todo:
        per_customer = limits[pid].usage_limit_per_customer
        if per_customer is None:
            continue
        if customer_id is None:
            raise UsageLimitReached("this promotion is limited per customer; name the customer", promotion_id=str(pid))
        if not await repository.take_customer_use(session, pid, customer_id, per_customer):
            raise UsageLimitReached("the customer has used this promotion up", promotion_id=str(pid))
    now = clock.now()
    await repository.insert_redemptions(
        session,
        [
            {
                "id": uuid.uuid4(),
                "order_id": order_id,
                "promotion_id": pid,
                "code": code,
                "customer_id": customer_id,
                "amount": amount,
                "redeemed_at": now,
            }
            for pid, code, amount in todo
        ],
    )
    return [pid for pid, _, _ in todo]


async def give_back(session: AsyncSession, *, order_id: uuid.UUID) -> int:
    """Return a cancelled order's uses; how many redemptions were given back (0 when done before)."""
    given = await repository.give_back_redemptions(session, order_id, clock.now())
    for row in given:
        await repository.return_promotion_use(session, row.promotion_id)
    for code in sorted({row.code for row in given if row.code}):
        await repository.return_code_use(session, code)
    for row in given:
        if row.customer_id is not None:
            await repository.return_customer_use(session, row.promotion_id, row.customer_id)
    return len(given)


# ---- zones -------------------------------------------------------------------------------


def _areas(areas: Sequence[ZoneAreaIn]) -> list[tuple[str, str]]:
    return sorted({(area.country, _postal(area.postal_prefix)) for area in areas})


def _fees(fees: Sequence[Any]) -> list[tuple[str, int]]:
    currencies = [fee.currency for fee in fees]
    for currency in currencies:
        _supported(currency)
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
    if code == DEFAULT_ZONE:
        await repository.ensure_default_zone(session)
    zone = await repository.get_zone(session, code)
    if zone is None:
        raise ZoneNotFound(f"no price zone {code}")
    return zone


async def list_zones(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[PriceZone]:
    after = decode_cursor(cursor, 1)
    rows = await repository.zone_page(session, str(after[0]) if after else None, limit)
    return page_of(rows, limit, lambda z: [z.code])


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
    _supported(body.currency)
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
) -> Page[Price]:
    after = decode_cursor(cursor, 2)
    key = (datetime.fromisoformat(str(after[0])), str(after[1])) if after else None
    rows = await repository.price_history(session, sku, zone, currency, key, limit)
    return page_of(rows, limit, lambda p: [p.valid_from.isoformat(), str(p.id)])


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
        _supported(promotion.currency)
    problems = rules.promotion_problems(_rule_of(promotion))
    if problems:
        raise InvalidPromotion("; ".join(problems), problems=problems)


async def create_promotion(session: AsyncSession, body: PromotionCreate) -> Promotion:
    now = clock.now()
    promotion = Promotion(id=uuid.uuid4(), kind=body.kind.value, created_at=now, updated_at=now, **_DEFAULTS)
    _apply_fields(promotion, body)
    _check(promotion)
    await repository.add_promotion(session, promotion)
    return promotion


async def update_promotion(session: AsyncSession, promotion_id: uuid.UUID, body: PromotionUpdate) -> Promotion:
    promotion = await repository.get_promotion(session, promotion_id, lock=True)
    if promotion is None:
        raise PromotionNotFound(f"no promotion {promotion_id}")
    old_limit, old_per_customer = promotion.usage_limit, promotion.usage_limit_per_customer
    _apply_fields(promotion, body)
    _check(promotion)
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


async def get_promotion(session: AsyncSession, promotion_id: uuid.UUID) -> Promotion:
    promotion = await repository.get_promotion(session, promotion_id)
    if promotion is None:
        raise PromotionNotFound(f"no promotion {promotion_id}")
    return promotion


async def list_promotions(
    session: AsyncSession, *, cursor: str | None, limit: int, archived: bool = False
) -> Page[Promotion]:
    after = decode_cursor(cursor, 2)
    key = (datetime.fromisoformat(str(after[0])), str(after[1])) if after else None
    rows = await repository.promotion_page(session, key, limit, archived=archived)
    return page_of(rows, limit, lambda p: [p.created_at.isoformat(), str(p.id)])


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
    after = decode_cursor(cursor, 1)
    rows = await repository.code_page(session, promotion_id, str(after[0]) if after else None, limit)
    return page_of(rows, limit, lambda c: [c.code])
