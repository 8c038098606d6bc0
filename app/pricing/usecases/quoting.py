"""Quotes and redemptions: what orders call at checkout, placement and cancellation."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock
from app.core.money import is_supported
from app.pricing import repository, rules
from app.pricing.errors import (
    PriceNotFound,
    PromotionNotFound,
    UnknownSku,
    UnknownZone,
    UnsupportedCurrency,
    UsageLimitReached,
)
from app.pricing.models import DEFAULT_ZONE, Promotion

# ---- public types ------------------------------------------------------------------------


class QuoteLine(msgspec.Struct, frozen=True):
    sku: str
    quantity: int


class ZoneAddress(msgspec.Struct, frozen=True):
    """A delivery address, as far as its price zone goes."""

    country: str
    postal_code: str = ""


class QuoteInput(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    lines: tuple[QuoteLine, ...]
    # A zone, or a delivery address whose zone (as `resolve_zone` finds it) the quote
    # resolves in its own statement, saving a round trip.
    zone: str | ZoneAddress = DEFAULT_ZONE
    codes: tuple[str, ...] = ()
    # The customer's tier and first-order status are the OMS's records, which the flow above
    # reads (app/flows/quote.py: loyalty, orders) and passes here; never the API caller's
    # word. A guest (no id) has no tier and no first order.
    customer_id: uuid.UUID | None = None
    loyalty_tier: str | None = None
    first_order: bool = False
    channel: str | None = None  # from the caller's key; read only by channel-restricted promotions
    home_delivery: bool = False  # the zone's delivery fee applies; pickup (or not chosen yet): none


class CustomerFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the OMS's records say of a customer, for pricing: the loyalty tier (loyalty's)
    and whether they have not ordered yet (orders'). The flow above reads them
    (app/flows/quote.py) and passes them down; never the API caller's word."""

    customer_id: uuid.UUID | None = None
    loyalty_tier: str | None = None
    first_order: bool = False

    def of(self, customer_id: uuid.UUID | None) -> CustomerFacts:
        """These facts if they are this customer's; else none (a guest, or a cart that
        changed hands after they were read: priced without, never with someone else's)."""
        if customer_id is not None and customer_id == self.customer_id:
            return self
        return CustomerFacts(customer_id=customer_id)


GUEST = CustomerFacts()


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    priced_at: datetime
    customer_id: uuid.UUID | None
    result: rules.PricingResult
    compare_at: dict[str, int]  # sku -> the "was" price, display only
    promotion_names: dict[str, str]


def normalize_code(code: str) -> str:
    return code.strip().upper()


def postal_key(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def check_currency(currency: str) -> None:
    if not is_supported(currency):
        raise UnsupportedCurrency(f"{currency} is not a supported currency", currency=currency)


# ---- quote -------------------------------------------------------------------------------


async def resolve_zone(
    session: AsyncSession,
    *,
    zone: str | None = None,
    country: str | None = None,
    postal_code: str | None = None,
) -> str:
    """The explicit zone (e.g. a store's, as inventory records it), else the address's,
    else the default."""
    if zone is not None:
        return zone
    if country is not None:
        return await repository.zone_for_address(session, country, postal_key(postal_code or "")) or DEFAULT_ZONE
    return DEFAULT_ZONE


async def quote(session: AsyncSession, request: QuoteInput, *, now: datetime | None = None) -> Quote:
    at = now or clock.now()
    check_currency(request.currency)
    skus = sorted({line.sku for line in request.lines})
    facts = await catalog.variant_facts(session, skus)
    unknown = [sku for sku in skus if sku not in facts]
    if unknown:
        raise UnknownSku(f"not in the catalog: {', '.join(unknown)}", skus=unknown)
    codes = tuple(dict.fromkeys(normalize_code(code) for code in request.codes))
    found = await _quote_facts(session, request, skus, codes, at)
    prices = {row.sku: row for row in found.prices}
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
            zone=found.zone,
            promotions=tuple(rule_of(row, row.customer_uses) for row in found.promotions),
            codes=codes,
            code_facts={
                row.code: rules.CodeFacts(
                    code=row.code, promotion_id=row.promotion_id, max_uses=row.max_uses, times_used=row.times_used
                )
                for row in found.codes
            },
            customer=rules.Customer(
                id=str(request.customer_id) if request.customer_id else None,
                loyalty_tier=request.loyalty_tier if request.customer_id else None,
                first_order=request.first_order and request.customer_id is not None,
            ),
            channel=request.channel,
            delivery_fee=found.fee if request.home_delivery else 0,
        )
    )
    return Quote(
        priced_at=at,
        customer_id=request.customer_id,
        result=result,
        compare_at={sku: row.compare_at_amount for sku, row in prices.items() if row.compare_at_amount is not None},
        promotion_names={row.id: row.name for row in found.promotions},
    )


async def _quote_facts(
    session: AsyncSession, request: QuoteInput, skus: list[str], codes: tuple[str, ...], at: datetime
) -> repository.QuoteFacts:
    """Pricing's side of a quote in one statement: the zone, its fee, the prices (every SKU
    must have one), the promotions and the codes."""
    zone = request.zone
    found = await repository.quote_facts(
        session,
        skus=skus,
        zone=zone if isinstance(zone, str) else None,
        address=None if isinstance(zone, str) else (zone.country, postal_key(zone.postal_code)),
        currency=request.currency,
        at=at,
        codes=codes,
        customer_id=request.customer_id,
    )
    if not found.zone_exists and found.zone != DEFAULT_ZONE:
        raise UnknownZone(f"no price zone {found.zone!r}", zone=found.zone)
    priced = {row.sku for row in found.prices}
    unpriced = [sku for sku in skus if sku not in priced]
    if unpriced:
        raise PriceNotFound(
            f"no {request.currency} price in zone {found.zone} for: {', '.join(unpriced)}",
            skus=unpriced,
            currency=request.currency,
            zone=found.zone,
        )
    return found


def rule_of(promotion: Promotion | repository.PromotionRow, customer_uses: int = 0) -> rules.Promotion:
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
            raise UsageLimitReached(f"code {code} has no use left", promotion_code=code)
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
