"""The price engine: pure functions on plain data, no I/O.

`price(PricingInput) -> PricingResult` prices a cart: the caller has already resolved each
line's unit price (tax-inclusive, integer minor units of one currency), loaded the live
promotions and the facts of the offered codes. Everything is integer arithmetic; the only
rounding points are documented below and round HALF_UP:

1. a percent-off-items discount, once per line, on the line's running net;
2. a buy-X-get-Y reward, once per line (the line's running net per unit x reward units);
3. an order-level discount's total (percent of the running net of its lines), then its
   allocation to lines in proportion to their running net: each line gets the floor of
   its exact share and the leftover minor units go to the largest remainders, so the
   lines always sum exactly to the discount.

Order of application: item-level promotions before order-level ones; within a level,
higher `priority` first, then promotion id. Percentages apply to the running total, so
20 % then 10 % off 100.00 is 72.00. A line never goes below zero and no discount exceeds
its line. Stacking: all combinable promotions apply together; each exclusive promotion is
also tried alone, and the one that gives the customer the most wins alone only when it
gives strictly more than the combinable set.

Determinism: lines are worked on in a canonical order (sku, unit price, quantity, then
position), never in the order the caller happened to send them, so a permuted cart gets
the same per-line results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

import msgspec

from app.core.money import allocate, round_half_up

BP = 10_000  # basis points in 100 %


class Kind(StrEnum):
    PERCENT_OFF_ITEMS = "percent_off_items"
    AMOUNT_OFF_ITEMS = "amount_off_items"
    FIXED_PRICE_ITEMS = "fixed_price_items"
    BUY_X_GET_Y = "buy_x_get_y"
    ORDER_PERCENT_OFF = "order_percent_off"
    ORDER_AMOUNT_OFF = "order_amount_off"
    SPEND_THRESHOLD = "spend_threshold"
    FREE_DELIVERY = "free_delivery"


ITEM_KINDS = frozenset({Kind.PERCENT_OFF_ITEMS, Kind.AMOUNT_OFF_ITEMS, Kind.FIXED_PRICE_ITEMS, Kind.BUY_X_GET_Y})
# Kinds whose parameters are money, so they only apply to carts in their own currency.
MONEY_KINDS = frozenset({Kind.AMOUNT_OFF_ITEMS, Kind.FIXED_PRICE_ITEMS, Kind.ORDER_AMOUNT_OFF, Kind.SPEND_THRESHOLD})


class Reason(StrEnum):
    """Why an offered code did or did not apply (stable strings: clients switch on them)."""

    APPLIED = "applied"
    UNKNOWN_CODE = "unknown_code"
    DUPLICATE_CODE = "duplicate_code"
    NOT_STARTED = "not_started"
    CODE_EXPIRED = "code_expired"
    USAGE_LIMIT_REACHED = "usage_limit_reached"
    CUSTOMER_REQUIRED = "customer_required"
    CUSTOMER_NOT_ELIGIBLE = "customer_not_eligible"
    CHANNEL_NOT_ELIGIBLE = "channel_not_eligible"
    CURRENCY_MISMATCH = "currency_mismatch"
    NO_QUALIFYING_ITEMS = "no_qualifying_items"
    BELOW_MINIMUM = "below_minimum"
    NOTHING_TO_DISCOUNT = "nothing_to_discount"
    NOT_COMBINABLE = "not_combinable"


# ---- input -------------------------------------------------------------------------------


class Line(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    quantity: int
    unit_price: int
    product_id: str = ""
    categories: frozenset[str] = frozenset()  # every category code on the path from the root


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Which lines a promotion looks at: a line matches by SKU, product or any category on
    its path (any one suffices); all empty = the whole cart."""

    skus: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()


class Tier(msgspec.Struct, frozen=True):
    threshold: int  # spend at least this (minor units) ...
    amount: int  # ... and get this much off


class Promotion(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: Kind
    starts_at: datetime
    ends_at: datetime | None = None  # half-open window: starts_at <= t < ends_at
    priority: int = 0
    combinable: bool = True
    requires_code: bool = False
    currency: str | None = None
    percent_bp: int = 0
    amount: int = 0
    fixed_price: int = 0
    buy_quantity: int = 0
    get_quantity: int = 0
    reward_percent_bp: int = BP
    tiers: tuple[Tier, ...] = ()
    target: Target = Target()
    min_subtotal: int = 0
    min_quantity: int = 0
    loyalty_tiers: frozenset[str] = frozenset()
    first_order_only: bool = False
    channels: frozenset[str] = frozenset()  # empty = every channel (the default, on purpose)
    usage_limit: int | None = None
    times_used: int = 0
    usage_limit_per_customer: int | None = None
    customer_uses: int = 0  # redemptions by the quoted customer

    @property
    def level(self) -> int:
        return 0 if self.kind in ITEM_KINDS else 1


class CodeFacts(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    promotion_id: str
    max_uses: int | None = None  # None = unlimited, 1 = single use
    times_used: int = 0


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    loyalty_tier: str | None = None
    first_order: bool = False


class PricingInput(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    lines: tuple[Line, ...]
    now: datetime
    zone: str = "default"
    promotions: tuple[Promotion, ...] = ()
    codes: tuple[str, ...] = ()  # offered by the customer, normalized
    code_facts: Mapping[str, CodeFacts] = msgspec.field(default_factory=dict)
    customer: Customer = Customer()
    channel: str | None = None  # only read by channel-restricted promotions
    delivery_fee: int = 0


# ---- output ------------------------------------------------------------------------------


class LineDiscount(msgspec.Struct, frozen=True, kw_only=True):
    promotion_id: str
    code: str | None
    amount: int


class LineSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What one line cost and why; orders store it verbatim (refunds read it, never today's price)."""

    sku: str
    quantity: int
    unit_price: int
    gross: int
    discounts: tuple[LineDiscount, ...]
    net: int


class PromotionDiscount(msgspec.Struct, frozen=True, kw_only=True):
    promotion_id: str
    code: str | None
    amount: int


class CodeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    applied: bool
    reason: Reason
    promotion_id: str | None = None


class PricingResult(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    zone: str
    lines: tuple[LineSnapshot, ...]  # in the caller's order
    subtotal: int  # sum of gross
    discounts: tuple[PromotionDiscount, ...]  # by promotion, in application order
    discount_total: int  # line discounts + delivery discount
    delivery_fee: int
    delivery_discount: int
    delivery: int  # what is charged for delivery
    total: int  # sum of line nets + delivery
    codes: tuple[CodeOutcome, ...]


# ---- eligibility -------------------------------------------------------------------------


def _static_reason(promo: Promotion, inp: PricingInput) -> Reason | None:
    """What stops a promotion before looking at the cart, or None when it may apply."""
    if inp.now < promo.starts_at:
        return Reason.NOT_STARTED
    if promo.ends_at is not None and inp.now >= promo.ends_at:
        return Reason.CODE_EXPIRED
    if promo.kind in MONEY_KINDS and promo.currency != inp.currency:
        return Reason.CURRENCY_MISMATCH
    if promo.channels and inp.channel not in promo.channels:
        return Reason.CHANNEL_NOT_ELIGIBLE
    if promo.usage_limit is not None and promo.times_used >= promo.usage_limit:
        return Reason.USAGE_LIMIT_REACHED
    if promo.usage_limit_per_customer is not None:
        if inp.customer.id is None:
            return Reason.CUSTOMER_REQUIRED
        if promo.customer_uses >= promo.usage_limit_per_customer:
            return Reason.USAGE_LIMIT_REACHED
    if promo.loyalty_tiers and inp.customer.loyalty_tier not in promo.loyalty_tiers:
        return Reason.CUSTOMER_NOT_ELIGIBLE
    if promo.first_order_only and not inp.customer.first_order:
        return Reason.CUSTOMER_NOT_ELIGIBLE
    return None


def _code_reason(code: str, inp: PricingInput, promos: Mapping[str, Promotion]) -> tuple[Reason | None, str | None]:
    facts = inp.code_facts.get(code)
    if facts is None:
        return Reason.UNKNOWN_CODE, None
    promo = promos.get(facts.promotion_id)
    if promo is None:  # archived since the code was handed out
        return Reason.CODE_EXPIRED, facts.promotion_id
    if facts.max_uses is not None and facts.times_used >= facts.max_uses:
        return Reason.USAGE_LIMIT_REACHED, promo.id
    return _static_reason(promo, inp), promo.id


# ---- applying promotions -----------------------------------------------------------------


class _Cart:
    """The running state of one stacking scenario."""

    def __init__(self, lines: Sequence[Line], delivery_fee: int) -> None:
        self.lines = lines
        self.net = [line.unit_price * line.quantity for line in lines]
        self.discounts: list[list[LineDiscount]] = [[] for _ in lines]
        self.delivery_left = delivery_fee
        self.applied: list[PromotionDiscount] = []
        self.reasons: dict[str, Reason] = {}

    @property
    def given(self) -> int:
        return sum(d.amount for d in self.applied)


def _line_amounts(promo: Promotion, cart: _Cart, rows: list[int]) -> dict[int, int] | Reason:
    """Discount per line index (canonical order) of one promotion on the running cart."""
    net, lines = cart.net, cart.lines
    if promo.kind is Kind.PERCENT_OFF_ITEMS:
        return {i: round_half_up(net[i] * promo.percent_bp, BP) for i in rows}
    if promo.kind is Kind.AMOUNT_OFF_ITEMS:
        return {i: min(promo.amount * lines[i].quantity, net[i]) for i in rows}
    if promo.kind is Kind.FIXED_PRICE_ITEMS:
        return {i: max(0, net[i] - promo.fixed_price * lines[i].quantity) for i in rows}
    if promo.kind is Kind.BUY_X_GET_Y:
        return _reward_units(promo, cart, rows)
    spend = sum(net[i] for i in rows)
    if promo.kind is Kind.ORDER_PERCENT_OFF:
        total = round_half_up(spend * promo.percent_bp, BP)
    elif promo.kind is Kind.ORDER_AMOUNT_OFF:
        total = min(promo.amount, spend)
    else:  # SPEND_THRESHOLD: the highest tier reached
        reached = [tier.amount for tier in promo.tiers if spend >= tier.threshold]
        if not reached:
            return Reason.BELOW_MINIMUM
        total = min(max(reached), spend)
    return dict(zip(rows, allocate(total, [net[i] for i in rows], strict=False), strict=True))


def _reward_units(promo: Promotion, cart: _Cart, rows: list[int]) -> dict[int, int]:
    """Buy X get Y: in every group of X+Y qualifying units, Y are rewarded — the cheapest
    units of the cart, so the discount sits on them (a returned free unit refunds nothing)."""
    lines, net = cart.lines, cart.net
    units = sum(lines[i].quantity for i in rows)
    rewarded = units // (promo.buy_quantity + promo.get_quantity) * promo.get_quantity
    cheapest_first = sorted(rows, key=lambda i: Fraction(net[i], lines[i].quantity))  # stable: ties keep canon order
    amounts: dict[int, int] = {}
    for i in cheapest_first:
        if rewarded == 0:
            break
        take = min(rewarded, lines[i].quantity)
        rewarded -= take
        amounts[i] = round_half_up(net[i] * take * promo.reward_percent_bp, lines[i].quantity * BP)
    return amounts


def _apply(promo: Promotion, code: str | None, cart: _Cart, rows: list[int]) -> Reason:
    """Apply one promotion to the running cart; returns why it did or did not give anything."""
    if not rows:
        return Reason.NO_QUALIFYING_ITEMS
    quantity = sum(cart.lines[i].quantity for i in rows)
    spend = sum(cart.net[i] for i in rows)
    if quantity < promo.min_quantity or spend < promo.min_subtotal:
        return Reason.BELOW_MINIMUM
    if promo.kind is Kind.FREE_DELIVERY:  # delivery is not a line: nothing is allocated
        given, cart.delivery_left = cart.delivery_left, 0
    else:
        amounts = _line_amounts(promo, cart, rows)
        if isinstance(amounts, Reason):
            return amounts
        given = 0
        for i, amount in amounts.items():
            if amount > 0:
                cart.net[i] -= amount
                cart.discounts[i].append(LineDiscount(promotion_id=promo.id, code=code, amount=amount))
                given += amount
    if given == 0:
        return Reason.NOTHING_TO_DISCOUNT
    cart.applied.append(PromotionDiscount(promotion_id=promo.id, code=code, amount=given))
    return Reason.APPLIED


def _run(
    promos: Sequence[Promotion],
    codes: Mapping[str, str],
    rows: Mapping[str, list[int]],
    canon: list[Line],
    delivery_fee: int,
) -> _Cart:
    cart = _Cart(canon, delivery_fee)
    for promo in sorted(promos, key=lambda p: (p.level, -p.priority, p.id)):
        cart.reasons[promo.id] = _apply(promo, codes.get(promo.id), cart, rows[promo.id])
    return cart


def _rows_by_target(canon: Sequence[Line], promos: Sequence[Promotion]) -> dict[str, list[int]]:
    """Each promotion's line positions (canonical order), looked up in an index of the cart
    rather than by testing every line against every promotion."""
    everything = list(range(len(canon)))
    by_key: dict[tuple[str, str], set[int]] = {}
    for i, line in enumerate(canon):
        by_key.setdefault(("sku", line.sku), set()).add(i)
        by_key.setdefault(("product", line.product_id), set()).add(i)
        for category in line.categories:
            by_key.setdefault(("category", category), set()).add(i)
    rows: dict[str, list[int]] = {}
    for promo in promos:
        target = promo.target
        if not (target.skus or target.products or target.categories):
            rows[promo.id] = everything
            continue
        found: set[int] = set()
        for kind, keys in (("sku", target.skus), ("product", target.products), ("category", target.categories)):
            for key in keys:
                found |= by_key.get((kind, key), set())
        rows[promo.id] = sorted(found)
    return rows


# ---- the engine --------------------------------------------------------------------------


def price(inp: PricingInput) -> PricingResult:
    """Price a cart. Same input, same output; raises ValueError on lines the caller should
    have refused (non-positive quantity, negative price)."""
    for line in inp.lines:
        if line.quantity <= 0 or line.unit_price < 0:
            raise ValueError(f"line {line.sku}: quantity must be > 0 and unit price >= 0")
    order = sorted(
        range(len(inp.lines)), key=lambda i: (inp.lines[i].sku, inp.lines[i].unit_price, inp.lines[i].quantity, i)
    )
    canon = [inp.lines[i] for i in order]

    promos = {p.id: p for p in inp.promotions}
    outcomes: dict[str, tuple[Reason | None, str | None]] = {}
    unlocked: dict[str, str] = {}  # promotion id -> the code that unlocked it
    for code in dict.fromkeys(inp.codes):
        reason, promo_id = _code_reason(code, inp, promos)
        if reason is None and promo_id is not None:
            if promo_id in unlocked:
                reason = Reason.DUPLICATE_CODE
            else:
                unlocked[promo_id] = code
        outcomes[code] = (reason, promo_id)

    live = [p for p in promos.values() if (not p.requires_code or p.id in unlocked) and _static_reason(p, inp) is None]
    rows = _rows_by_target(canon, live)

    combined = best = _run([p for p in live if p.combinable], unlocked, rows, canon, inp.delivery_fee)
    alone: dict[str, _Cart] = {}
    for promo in sorted((p for p in live if not p.combinable), key=lambda p: (-p.priority, p.id)):
        cart = alone[promo.id] = _run([promo], unlocked, rows, canon, inp.delivery_fee)
        if cart.given > best.given:  # an exclusive wins alone only when it gives strictly more
            best = cart

    codes = []
    for code, (reason, promo_id) in outcomes.items():
        if reason is None and promo_id is not None:
            reason = best.reasons.get(promo_id)
            if reason is None:  # not in the winning scenario: say why, from its own scenario
                reason = alone.get(promo_id, combined).reasons[promo_id]
                if reason is Reason.APPLIED:
                    reason = Reason.NOT_COMBINABLE
        codes.append(
            CodeOutcome(
                code=code,
                applied=reason is Reason.APPLIED,
                reason=reason or Reason.UNKNOWN_CODE,
                promotion_id=promo_id,
            )
        )
    return _result(inp, order, best, tuple(codes))


def _result(inp: PricingInput, order: list[int], cart: _Cart, codes: tuple[CodeOutcome, ...]) -> PricingResult:
    snapshots: list[LineSnapshot | None] = [None] * len(order)
    for rank, i in enumerate(order):
        line = inp.lines[i]
        snapshots[i] = LineSnapshot(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            gross=line.unit_price * line.quantity,
            discounts=tuple(cart.discounts[rank]),
            net=cart.net[rank],
        )
    lines = tuple(s for s in snapshots if s is not None)
    subtotal = sum(s.gross for s in lines)
    delivery = cart.delivery_left
    return PricingResult(
        currency=inp.currency,
        zone=inp.zone,
        lines=lines,
        subtotal=subtotal,
        discounts=tuple(cart.applied),
        discount_total=cart.given,
        delivery_fee=inp.delivery_fee,
        delivery_discount=inp.delivery_fee - delivery,
        delivery=delivery,
        total=sum(s.net for s in lines) + delivery,
        codes=codes,
    )


# ---- validating a promotion's definition -------------------------------------------------


def promotion_problems(promo: Promotion) -> list[str]:
    """What is wrong with a promotion's parameters (empty when it is well formed)."""
    problems: list[str] = []
    kind = promo.kind
    if promo.ends_at is not None and promo.ends_at <= promo.starts_at:
        problems.append("ends_at must be after starts_at")
    if kind in (Kind.PERCENT_OFF_ITEMS, Kind.ORDER_PERCENT_OFF) and not 0 < promo.percent_bp <= BP:
        problems.append("percent_bp must be between 1 and 10000 (basis points: 2000 = 20 %)")
    if kind in (Kind.AMOUNT_OFF_ITEMS, Kind.ORDER_AMOUNT_OFF) and promo.amount <= 0:
        problems.append("amount must be > 0")
    if kind is Kind.FIXED_PRICE_ITEMS and promo.fixed_price < 0:
        problems.append("fixed_price must be >= 0")
    if kind in MONEY_KINDS and promo.currency is None:
        problems.append(f"a {kind} promotion needs a currency")
    if kind is Kind.BUY_X_GET_Y:
        if promo.buy_quantity <= 0 or promo.get_quantity <= 0:
            problems.append("buy_quantity and get_quantity must be > 0")
        if not 0 < promo.reward_percent_bp <= BP:
            problems.append("reward_percent_bp must be between 1 and 10000")
    if kind is Kind.SPEND_THRESHOLD:
        thresholds = [t.threshold for t in promo.tiers]
        if not promo.tiers:
            problems.append("a spend_threshold promotion needs tiers")
        elif thresholds != sorted(set(thresholds)) or any(t.amount <= 0 or t.threshold <= 0 for t in promo.tiers):
            problems.append("tiers need increasing thresholds > 0 and amounts > 0")
    if kind is not Kind.SPEND_THRESHOLD and promo.tiers:
        problems.append("only spend_threshold promotions have tiers")
    return problems
