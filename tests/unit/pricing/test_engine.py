"""The price engine on plain data, with exact expected numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.pricing.rules import (
    CodeFacts,
    Customer,
    Kind,
    Line,
    LineDiscount,
    Promotion,
    PromotionDiscount,
    Reason,
    Target,
    Tier,
    price,
    promotion_problems,
)
from app.pricing.rules import PricingInput as Input

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)


def promo(pid: str, kind: Kind, **kw: object) -> Promotion:
    kw.setdefault("starts_at", START)
    return Promotion(id=pid, kind=kind, **kw)  # type: ignore[arg-type]


def line(sku: str, quantity: int, unit_price: int, **kw: object) -> Line:
    return Line(sku=sku, quantity=quantity, unit_price=unit_price, **kw)  # type: ignore[arg-type]


def run(lines: list[Line], promos: list[Promotion] = (), **kw: object):  # type: ignore[no-untyped-def,assignment]
    kw.setdefault("currency", "EUR")
    return price(Input(lines=tuple(lines), now=NOW, promotions=tuple(promos), **kw))  # type: ignore[arg-type]


def nets(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [ln.net for ln in result.lines]


# ---- arithmetic --------------------------------------------------------------------------


def test_allocation_of_10_00_across_0_01_3_33_96_66() -> None:
    # exact shares 0.1, 33.3, 966.6 -> floors 0, 33, 966 (999) -> the leftover cent goes to .6
    # (the split itself: tests/unit/core/test_money.py)
    result = run(
        [line("A", 1, 1), line("B", 1, 333), line("C", 1, 9666)],
        [promo("p", Kind.ORDER_AMOUNT_OFF, amount=1000, currency="EUR")],
    )
    assert nets(result) == [1, 300, 8699]
    assert result.total == 9000
    assert result.discounts == (PromotionDiscount(promotion_id="p", code=None, amount=1000),)


# ---- kinds ------------------------------------------------------------------------------


def test_buy_3_pay_2_on_items_of_different_prices_frees_the_cheapest() -> None:
    lines = [line("SHIRT", 1, 2500), line("SOCKS", 1, 799), line("CAP", 1, 1500)]
    result = run(lines, [promo("3for2", Kind.BUY_X_GET_Y, buy_quantity=2, get_quantity=1)])
    assert nets(result) == [2500, 0, 1500]
    assert result.lines[1].discounts == (LineDiscount(promotion_id="3for2", code=None, amount=799),)
    assert result.total == 4000


def test_buy_3_pay_2_with_seven_units_rewards_the_two_cheapest() -> None:
    lines = [line("A", 3, 1000), line("B", 2, 600), line("C", 2, 450)]
    result = run(lines, [promo("3for2", Kind.BUY_X_GET_Y, buy_quantity=2, get_quantity=1)])
    # 7 units -> 2 groups -> 2 rewarded units, both C (4.50 each)
    assert nets(result) == [3000, 1200, 0]
    assert result.total == 4200


def test_second_item_half_price() -> None:
    lines = [line("A", 1, 3000), line("B", 1, 1999)]
    result = run(lines, [promo("half", Kind.BUY_X_GET_Y, buy_quantity=1, get_quantity=1, reward_percent_bp=5000)])
    # 19.99 / 2 = 9.995 -> 10.00 (HALF_UP, per line)
    assert nets(result) == [3000, 999]


def test_rounding_of_33_percent_off_3_x_0_99() -> None:
    # 2.97 x 33 % = 0.9801 -> 0.98, rounded once on the line
    result = run([line("GUM", 3, 99)], [promo("p33", Kind.PERCENT_OFF_ITEMS, percent_bp=3300)])
    assert result.lines[0].discounts[0].amount == 98
    assert result.total == 199


def test_percentages_apply_to_the_running_total() -> None:
    promos = [
        promo("a20", Kind.ORDER_PERCENT_OFF, percent_bp=2000, priority=2),
        promo("b10", Kind.ORDER_PERCENT_OFF, percent_bp=1000, priority=1),
    ]
    result = run([line("A", 1, 10000)], promos)
    assert result.total == 7200
    assert [d.amount for d in result.discounts] == [2000, 800]


def test_fixed_price_and_amount_off_items() -> None:
    lines = [line("A", 2, 1500), line("B", 1, 400)]
    fixed = run(lines, [promo("fix", Kind.FIXED_PRICE_ITEMS, fixed_price=1000, currency="EUR")])
    assert nets(fixed) == [2000, 400]  # B is already below the fixed price: never raised
    off = run(lines, [promo("off", Kind.AMOUNT_OFF_ITEMS, amount=500, currency="EUR")])
    assert nets(off) == [2000, 0]  # never below zero


def test_percent_on_a_category_stacked_with_an_order_level_amount_off() -> None:
    lines = [
        line("SHIRT", 2, 2000, categories=frozenset({"apparel", "tops"})),
        line("MUG", 1, 1000, categories=frozenset({"home"})),
    ]
    promos = [
        promo("tops25", Kind.PERCENT_OFF_ITEMS, percent_bp=2500, target=Target(categories=frozenset({"apparel"}))),
        promo("five", Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR"),
    ]
    result = run(lines, promos)
    # item level first: shirts 40.00 -> 30.00; then 5.00 over 30.00 : 10.00 -> 3.75 / 1.25
    assert nets(result) == [2625, 875]
    assert result.lines[0].discounts == (
        LineDiscount(promotion_id="tops25", code=None, amount=1000),
        LineDiscount(promotion_id="five", code=None, amount=375),
    )
    assert result.subtotal == 5000
    assert result.discount_total == 1500
    assert result.total == 3500


def test_spend_threshold_crossed_by_exactly_one_minor_unit() -> None:
    tiers = (Tier(10000, 1000), Tier(20000, 3000))
    p = promo("tiers", Kind.SPEND_THRESHOLD, tiers=tiers, currency="EUR", requires_code=True)
    facts = {"SPEND": CodeFacts(code="SPEND", promotion_id="tiers")}
    below = run([line("A", 1, 9999)], [p], codes=("SPEND",), code_facts=facts)
    assert below.total == 9999
    assert below.codes[0].reason is Reason.BELOW_MINIMUM
    at = run([line("A", 1, 10000)], [p], codes=("SPEND",), code_facts=facts)
    assert at.total == 9000
    assert at.codes[0].applied
    upper = run([line("A", 1, 19999), line("B", 1, 1)], [p], codes=("SPEND",), code_facts=facts)
    assert upper.total == 17000  # 200.00 reaches the second tier: 30.00 off
    assert [ln.net for ln in upper.lines] == [16999, 1]


def test_free_delivery_zeroes_the_fee_and_is_not_allocated_to_lines() -> None:
    result = run([line("A", 1, 5000)], [promo("ship", Kind.FREE_DELIVERY)], delivery_fee=495)
    assert result.delivery_fee == 495
    assert result.delivery == 0
    assert result.delivery_discount == 495
    assert result.lines[0].discounts == ()
    assert result.total == 5000


def test_minimum_subtotal_and_quantity() -> None:
    p = promo("min", Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", min_subtotal=3000, min_quantity=2)
    assert run([line("A", 1, 4000)], [p]).total == 4000  # one unit only
    assert run([line("A", 2, 1400)], [p]).total == 2800  # 28.00 < 30.00
    assert run([line("A", 2, 1500)], [p]).total == 2500


def test_other_currencies_use_their_own_minor_units() -> None:
    jpy = run([line("TEA", 3, 99)], [promo("p", Kind.PERCENT_OFF_ITEMS, percent_bp=3300)], currency="JPY")
    assert jpy.total == 199  # 297 yen - 98 yen
    bhd = run([line("OUD", 1, 1005)], [promo("p", Kind.PERCENT_OFF_ITEMS, percent_bp=1000)], currency="BHD")
    assert bhd.total == 904  # 1.005 BHD - 0.1005 -> 0.101


# ---- stacking ----------------------------------------------------------------------------

SHOP = [line("A", 1, 6000), line("B", 1, 4000)]
TWO_COMBINABLE = [
    promo("c10", Kind.ORDER_PERCENT_OFF, percent_bp=1000),
    promo("c5", Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR"),
]


def test_an_exclusive_promotion_that_beats_two_combinable_ones_wins_alone() -> None:
    # combinable: 10 % of 100.00 = 10.00, then 5.00 -> 15.00 off; exclusive: 20.00 off
    exclusive = promo("x20", Kind.ORDER_PERCENT_OFF, percent_bp=2000, combinable=False)
    result = run(SHOP, [*TWO_COMBINABLE, exclusive])
    assert [d.promotion_id for d in result.discounts] == ["x20"]
    assert result.total == 8000


def test_an_exclusive_promotion_that_does_not_beat_them_is_left_out() -> None:
    exclusive = promo("x12", Kind.ORDER_PERCENT_OFF, percent_bp=1200, combinable=False, requires_code=True)
    facts = {"TWELVE": CodeFacts(code="TWELVE", promotion_id="x12")}
    result = run(SHOP, [*TWO_COMBINABLE, exclusive], codes=("TWELVE",), code_facts=facts)
    assert [d.promotion_id for d in result.discounts] == ["c10", "c5"]
    assert result.total == 8500
    assert result.codes[0].reason is Reason.NOT_COMBINABLE
    assert not result.codes[0].applied


def test_a_combinable_code_loses_to_a_winning_exclusive() -> None:
    combinable = promo("c5", Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", requires_code=True)
    exclusive = promo("x20", Kind.ORDER_PERCENT_OFF, percent_bp=2000, combinable=False)
    facts = {"FIVE": CodeFacts(code="FIVE", promotion_id="c5")}
    result = run(SHOP, [combinable, exclusive], codes=("FIVE",), code_facts=facts)
    assert result.total == 8000
    assert result.codes[0].reason is Reason.NOT_COMBINABLE


# ---- codes -------------------------------------------------------------------------------


def coded(pid: str = "c", **kw: object) -> Promotion:
    return promo(pid, Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", requires_code=True, **kw)


def test_a_coupon_at_its_last_use() -> None:
    last = {"LAST": CodeFacts(code="LAST", promotion_id="c", max_uses=3, times_used=2)}
    result = run([line("A", 1, 2000)], [coded()], codes=("LAST",), code_facts=last)
    assert result.codes[0].applied
    assert result.total == 1500
    gone = {"LAST": CodeFacts(code="LAST", promotion_id="c", max_uses=3, times_used=3)}
    result = run([line("A", 1, 2000)], [coded()], codes=("LAST",), code_facts=gone)
    assert result.codes[0].reason is Reason.USAGE_LIMIT_REACHED
    assert result.total == 2000


def test_a_promotion_that_starts_one_second_after_the_order_time() -> None:
    later = coded(starts_at=NOW + timedelta(seconds=1))
    facts = {"SOON": CodeFacts(code="SOON", promotion_id="c")}
    result = run([line("A", 1, 2000)], [later], codes=("SOON",), code_facts=facts)
    assert result.codes[0].reason is Reason.NOT_STARTED
    assert result.total == 2000
    auto = promo("auto", Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", starts_at=NOW + timedelta(seconds=1))
    assert run([line("A", 1, 2000)], [auto]).total == 2000
    exactly_now = promo("auto", Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", starts_at=NOW)
    assert run([line("A", 1, 2000)], [exactly_now]).total == 1500


def test_the_window_is_half_open_at_the_end() -> None:
    ended = coded(ends_at=NOW)
    facts = {"OLD": CodeFacts(code="OLD", promotion_id="c")}
    assert run([line("A", 1, 2000)], [ended], codes=("OLD",), code_facts=facts).codes[0].reason is Reason.CODE_EXPIRED
    still = coded(ends_at=NOW + timedelta(microseconds=1))
    assert run([line("A", 1, 2000)], [still], codes=("OLD",), code_facts=facts).codes[0].applied


@pytest.mark.parametrize(
    ("promotion", "customer", "channel", "currency", "reason"),
    [
        (coded(usage_limit=10, times_used=10), Customer(), None, "EUR", Reason.USAGE_LIMIT_REACHED),
        (coded(usage_limit_per_customer=1), Customer(), None, "EUR", Reason.CUSTOMER_REQUIRED),
        (
            coded(usage_limit_per_customer=1, customer_uses=1),
            Customer(id="c1"),
            None,
            "EUR",
            Reason.USAGE_LIMIT_REACHED,
        ),
        (
            coded(loyalty_tiers=frozenset({"gold"})),
            Customer(loyalty_tier="silver"),
            None,
            "EUR",
            Reason.CUSTOMER_NOT_ELIGIBLE,
        ),
        (coded(first_order_only=True), Customer(id="c1"), None, "EUR", Reason.CUSTOMER_NOT_ELIGIBLE),
        (coded(channels=frozenset({"pos"})), Customer(), "web", "EUR", Reason.CHANNEL_NOT_ELIGIBLE),
        (coded(), Customer(), None, "JPY", Reason.CURRENCY_MISMATCH),
        (coded(target=Target(skus=frozenset({"ZZZ"}))), Customer(), None, "EUR", Reason.NO_QUALIFYING_ITEMS),
        (coded(min_subtotal=5000), Customer(), None, "EUR", Reason.BELOW_MINIMUM),
        (coded(loyalty_tiers=frozenset({"gold"})), Customer(loyalty_tier="gold"), None, "EUR", Reason.APPLIED),
        (coded(first_order_only=True), Customer(first_order=True), None, "EUR", Reason.APPLIED),
        (coded(channels=frozenset({"pos"})), Customer(), "pos", "EUR", Reason.APPLIED),
    ],
)
def test_why_a_code_did_not_apply(
    promotion: Promotion, customer: Customer, channel: str | None, currency: str, reason: Reason
) -> None:
    facts = {"CODE": CodeFacts(code="CODE", promotion_id="c")}
    result = run(
        [line("A", 1, 2000)],
        [promotion],
        codes=("CODE",),
        code_facts=facts,
        customer=customer,
        channel=channel,
        currency=currency,
    )
    assert result.codes[0].reason is reason
    assert result.codes[0].applied is (reason is Reason.APPLIED)


def test_unknown_duplicate_and_archived_codes() -> None:
    facts = {
        "ONE": CodeFacts(code="ONE", promotion_id="c"),
        "TWO": CodeFacts(code="TWO", promotion_id="c"),
        "GONE": CodeFacts(code="GONE", promotion_id="archived"),
    }
    result = run([line("A", 1, 2000)], [coded()], codes=("NOPE", "ONE", "TWO", "GONE"), code_facts=facts)
    assert [(c.code, c.reason) for c in result.codes] == [
        ("NOPE", Reason.UNKNOWN_CODE),
        ("ONE", Reason.APPLIED),
        ("TWO", Reason.DUPLICATE_CODE),
        ("GONE", Reason.CODE_EXPIRED),
    ]
    assert result.total == 1500
    assert result.discounts[0].code == "ONE"


def test_a_channel_is_not_an_input_of_the_price() -> None:
    lines = [line("A", 2, 1999)]
    promos = [promo("p", Kind.PERCENT_OFF_ITEMS, percent_bp=1500)]
    results = {channel: run(lines, promos, channel=channel) for channel in ("web", "app", "kiosk", "pos", None)}
    assert len(set(results.values())) == 1


def test_lines_keep_the_callers_order() -> None:
    result = run([line("Z", 1, 100), line("A", 1, 200)])
    assert [ln.sku for ln in result.lines] == ["Z", "A"]


def test_a_line_with_no_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        run([line("A", 0, 100)])


def test_promotion_problems() -> None:
    assert promotion_problems(promo("p", Kind.PERCENT_OFF_ITEMS, percent_bp=2000)) == []
    assert promotion_problems(promo("p", Kind.PERCENT_OFF_ITEMS, percent_bp=10001)) != []
    assert promotion_problems(promo("p", Kind.ORDER_AMOUNT_OFF, amount=100)) == [
        "a order_amount_off promotion needs a currency"
    ]
    assert promotion_problems(promo("p", Kind.SPEND_THRESHOLD, currency="EUR", tiers=(Tier(200, 5), Tier(100, 3))))
    assert promotion_problems(promo("p", Kind.BUY_X_GET_Y, buy_quantity=2))
    assert promotion_problems(promo("p", Kind.FREE_DELIVERY, ends_at=START))
