"""Properties of the price engine for random carts and promotions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.pricing.rules import (
    BP,
    CodeFacts,
    Kind,
    Line,
    PricingInput,
    PricingResult,
    Promotion,
    Target,
    Tier,
    price,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SKUS = [f"SKU-{i}" for i in range(8)]
CATEGORIES = ["apparel", "shoes", "home"]

# A SKU always belongs to the same product and categories, as in the catalog.
PRODUCT_OF = {sku: f"P{i % 3 + 1}" for i, sku in enumerate(SKUS)}
CATEGORIES_OF = {sku: frozenset(CATEGORIES[i % 3 : i % 3 + 1 + i % 2]) for i, sku in enumerate(SKUS)}


@st.composite
def line_st(draw: st.DrawFn) -> Line:
    sku = draw(st.sampled_from(SKUS))
    return Line(
        sku=sku,
        quantity=draw(st.integers(1, 6)),
        unit_price=draw(st.integers(0, 50_000)),
        product_id=PRODUCT_OF[sku],
        categories=CATEGORIES_OF[sku],
    )


lines_st = st.lists(line_st(), min_size=1, max_size=8)

target_st = st.one_of(
    st.just(Target()),
    st.builds(Target, skus=st.frozensets(st.sampled_from(SKUS), max_size=3)),
    st.builds(Target, categories=st.frozensets(st.sampled_from(CATEGORIES), min_size=1, max_size=2)),
    st.builds(Target, products=st.frozensets(st.sampled_from(["P1", "P2"]), min_size=1)),
)


@st.composite
def promotion_st(draw: st.DrawFn, index: int) -> Promotion:
    kind = draw(st.sampled_from(list(Kind)))
    tiers = ()
    if kind is Kind.SPEND_THRESHOLD:
        first = draw(st.integers(1, 50_000))
        tiers = (Tier(first, draw(st.integers(1, 20_000))), Tier(first * 2, draw(st.integers(1, 40_000))))
    return Promotion(
        id=f"promo-{index:02d}",
        kind=kind,
        starts_at=NOW - timedelta(days=1),
        priority=draw(st.integers(-2, 2)),
        combinable=draw(st.booleans()),
        requires_code=draw(st.booleans()),
        currency="EUR",
        percent_bp=draw(st.integers(1, BP)),
        amount=draw(st.integers(1, 30_000)),
        fixed_price=draw(st.integers(0, 20_000)),
        buy_quantity=draw(st.integers(1, 3)),
        get_quantity=draw(st.integers(1, 2)),
        reward_percent_bp=draw(st.integers(1, BP)),
        tiers=tiers,
        target=draw(target_st),
        min_subtotal=draw(st.sampled_from([0, 0, 10_000])),
        min_quantity=draw(st.sampled_from([0, 0, 3])),
    )


@st.composite
def cart_st(draw: st.DrawFn) -> PricingInput:
    promotions = tuple(draw(promotion_st(i)) for i in range(draw(st.integers(0, 6))))
    facts = {f"CODE{p.id}": CodeFacts(code=f"CODE{p.id}", promotion_id=p.id) for p in promotions}
    return PricingInput(
        currency="EUR",
        lines=tuple(draw(lines_st)),
        now=NOW,
        promotions=promotions,
        codes=tuple(draw(st.lists(st.sampled_from(sorted(facts)), unique=True))) if facts else (),
        code_facts=facts,
        delivery_fee=draw(st.sampled_from([0, 495])),
    )


def line_multiset(result: PricingResult) -> list[str]:
    return sorted(repr(line) for line in result.lines)


@settings(max_examples=300, deadline=None)
@given(cart_st(), st.randoms(use_true_random=False))
def test_the_engine_keeps_its_invariants(inp: PricingInput, random: object) -> None:
    result = price(inp)

    assert sum(line.net for line in result.lines) + result.delivery == result.total
    assert result.subtotal - result.discount_total + result.delivery_fee == result.total
    assert sum(d.amount for d in result.discounts) == result.discount_total
    for line in result.lines:
        assert line.net >= 0
        assert line.gross == line.unit_price * line.quantity
        assert all(0 < d.amount <= line.gross for d in line.discounts)
        assert line.gross - sum(d.amount for d in line.discounts) == line.net
    assert 0 <= result.delivery <= result.delivery_fee

    shuffled = list(inp.lines)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    again = price(PricingInput(**{**{f: getattr(inp, f) for f in inp.__struct_fields__}, "lines": tuple(shuffled)}))
    assert line_multiset(again) == line_multiset(result)
    assert again.total == result.total
    assert again.discounts == result.discounts
    assert again.codes == result.codes
