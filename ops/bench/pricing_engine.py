"""The price engine on a big cart: 100 lines, 50 live promotions (pure CPU, no I/O).

The cart has 100 SKUs over 10 categories and 20 products; the 50 promotions mix every kind
(percent/amount/fixed price on items, buy-X-get-Y, order percent/amount, spend tiers, free
delivery), targets (SKUs, products, categories, whole cart), minimums, 5 exclusive ones (each
tried alone against the combinable set) and 10 unlocked by codes the customer offers.
Prints p50 / p95 / max wall time of `rules.price` over N runs after a warm-up, the mean CPU
time per run (unaffected by other load on the box), and checks the result's invariants once.

    .venv/bin/python ops/bench/pricing_engine.py --runs 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.pricing.rules import (  # noqa: E402
    CodeFacts,
    Customer,
    Kind,
    Line,
    PricingInput,
    Promotion,
    Target,
    Tier,
    price,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CATEGORIES = [f"cat-{i}" for i in range(10)]
KINDS = list(Kind)


def cart() -> tuple[Line, ...]:
    return tuple(
        Line(
            sku=f"SKU-{i:03d}",
            quantity=1 + i % 4,
            unit_price=199 + (i * 7919) % 25_000,
            product_id=f"P{i % 20:02d}",
            categories=frozenset({"all", CATEGORIES[i % 10]}),
        )
        for i in range(100)
    )


def promotions() -> tuple[Promotion, ...]:
    promos = []
    for i in range(50):
        kind = KINDS[i % len(KINDS)]
        targets = [
            Target(),
            Target(categories=frozenset({CATEGORIES[i % 10]})),
            Target(products=frozenset({f"P{i % 20:02d}", f"P{(i + 7) % 20:02d}"})),
            Target(skus=frozenset(f"SKU-{(i * 3 + k) % 100:03d}" for k in range(10))),
        ]
        promos.append(
            Promotion(
                id=f"promo-{i:02d}",
                kind=kind,
                starts_at=NOW - timedelta(days=1),
                ends_at=NOW + timedelta(days=1),
                priority=i % 5,
                combinable=i % 10 != 3,
                requires_code=i % 5 == 4,
                currency="EUR",
                percent_bp=500 + (i * 37) % 1500,
                amount=100 + i * 10,
                fixed_price=1000 + i * 50,
                buy_quantity=2,
                get_quantity=1,
                reward_percent_bp=5000 if i % 2 else 10_000,
                tiers=(Tier(10_000, 1_000), Tier(20_000, 3_000)) if kind is Kind.SPEND_THRESHOLD else (),
                target=targets[i % 4],
                min_subtotal=5_000 if i % 7 == 0 else 0,
                usage_limit=1000,
                times_used=i,
            )
        )
    return tuple(promos)


def pricing_input() -> PricingInput:
    promos = promotions()
    coded = [p for p in promos if p.requires_code]
    facts = {f"CODE-{p.id}": CodeFacts(code=f"CODE-{p.id}", promotion_id=p.id, max_uses=10) for p in coded}
    return PricingInput(
        currency="EUR",
        lines=cart(),
        now=NOW,
        promotions=promos,
        codes=tuple(facts),
        code_facts=facts,
        customer=Customer(id="c-1", loyalty_tier="gold"),
        delivery_fee=495,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    inp = pricing_input()

    result = price(inp)
    assert sum(line.net for line in result.lines) + result.delivery == result.total
    assert all(line.net >= 0 for line in result.lines)
    applied = len(result.discounts)

    for _ in range(50):
        price(inp)
    timings = []
    cpu_started = time.process_time()
    for _ in range(args.runs):
        started = time.perf_counter()
        price(inp)
        timings.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / args.runs
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"lines={len(inp.lines)} promotions={len(inp.promotions)} codes={len(inp.codes)} applied={applied}")
    print(f"subtotal={result.subtotal} discounts={result.discount_total} total={result.total}")
    print(f"runs={args.runs} p50={statistics.median(timings):.2f} ms p95={p95:.2f} ms max={timings[-1]:.2f} ms")
    print(f"mean CPU time per price={cpu_ms:.2f} ms (what the engine costs, whatever else the box runs)")


if __name__ == "__main__":
    main()
