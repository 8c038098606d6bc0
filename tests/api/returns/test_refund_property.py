"""Property over real orders: whatever sequence of partial returns (any lines, any split,
restocked or damaged), the refunds of an order never exceed what was paid, and bringing
everything back refunds exactly what was paid. (Cancellations before shipment are in the
rules' hypothesis test: tests/unit/returns/test_rules.py.)"""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import OrderTender
from tests.api.returns.conftest import collect, make_shop, pickup_body, place
from tests.conftest import Api


async def refunded(db: AsyncSession, order_id: str) -> tuple[int, int]:
    rows = (
        await db.scalars(
            select(OrderTender)
            .where(OrderTender.order_id == uuid.UUID(order_id))
            .execution_options(populate_existing=True)
        )
    ).all()
    return sum(t.refunded for t in rows), sum(t.captured for t in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_refunds_never_exceed_what_was_paid(api: Api, db: AsyncSession, seed: int) -> None:
    rnd = random.Random(seed)
    shop = await make_shop(db, bxgy=True)
    lines = {shop.small: rnd.randint(1, 4), shop.sock: rnd.randint(1, 4), shop.medium: rnd.randint(0, 2)}
    lines = {sku: qty for sku, qty in lines.items() if qty}
    quote = await api.as_("app").post(
        "/v1/pricing/quote",
        json={"currency": "EUR", "lines": [{"sku": s, "quantity": q} for s, q in lines.items()], "codes": ["SAVE10"]},
    )
    assert quote.status_code == 200, quote.text
    total = quote.json()["total"]
    order = await place(api, "app", pickup_body(lines, total, codes=["SAVE10"]))
    assert order["total"] == total
    await collect(api, db, order)
    left = {ln["line_no"]: ln["quantity"] for ln in order["lines"]}
    while any(left.values()):
        open_lines = [no for no, q in left.items() if q]
        picked = rnd.sample(open_lines, rnd.randint(1, len(open_lines)))
        body_lines = []
        for no in picked:
            units = rnd.randint(1, left[no])
            left[no] -= units
            body_lines.append({"line_no": no, "quantity": units, "disposition": rnd.choice(["restock", "damaged"])})
        r = await api.as_("pos").post(
            "/v1/returns", json={"order_id": order["id"], "mode": "immediate", "reason": "p", "lines": body_lines}
        )
        assert r.status_code == 201, r.text
        back, paid = await refunded(db, order["id"])
        assert back <= paid == total
    assert await refunded(db, order["id"]) == (total, total)
