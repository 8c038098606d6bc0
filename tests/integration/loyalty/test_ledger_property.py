"""Property: whatever happens to a card, its balance equals its ledger's sum (and its lots)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.settings import Settings
from app.loyalty import service
from app.loyalty.errors import InsufficientPoints
from app.loyalty.models import LoyaltyAccount
from tests.integration.loyalty.cards import START, earn, ledger_sum, new_card

operation = st.one_of(
    st.tuples(
        st.just("earn"),
        st.lists(st.integers(0, 40_000), min_size=1, max_size=4),
        st.integers(0, 100),  # percent of the order paid with points
    ),
    st.tuples(st.just("redeem"), st.integers(1, 400)),
    st.tuples(st.just("spend_all")),
    st.tuples(st.just("reverse"), st.integers(0, 50), st.integers(1, 100)),  # which line, percent refunded
    st.tuples(st.just("wait"), st.sampled_from([3, 31, 70, 400])),  # days pass: release and expiry jobs run
    st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(st.integers(100, 40_000), min_size=1, max_size=4),
    operations=st.lists(operation, min_size=4, max_size=14),
)
async def test_balance_equals_ledger_sum_after_any_sequence(
    db: AsyncSession, first: list[int], operations: list[Any], configure: Callable[..., Settings]
) -> None:
    # Short lives, so that a dozen steps reach release, spending, returns and expiry.
    configure(loyalty_expiry_months=3)
    clock.freeze(START)
    savepoint = await db.begin_nested()
    try:
        _, card = await new_card(db)
        lines: list[tuple[str, int]] = []
        # Every story starts with a purchase, so there is something to spend, return and expire.
        for step, op in enumerate([("earn", first, 0), *operations]):
            await _apply(db, card, step, op, lines)
            acc = await _account_or_none(db, card)
            if acc is not None:
                assert acc.available >= 0 and acc.pending >= 0
                assert acc.available + acc.pending == await ledger_sum(db, card)
            assert await service.audit(db) == []
    finally:
        await savepoint.rollback()
        clock.reset()


async def _account_or_none(db: AsyncSession, card: str) -> LoyaltyAccount | None:
    return (
        await db.scalars(
            select(LoyaltyAccount).where(LoyaltyAccount.card_number == card).execution_options(populate_existing=True)
        )
    ).first()


async def _apply(db: AsyncSession, card: str, step: int, op: Any, lines: list[tuple[str, int]]) -> None:
    kind = op[0]
    if kind == "earn":
        amounts, percent = op[1], op[2]
        order_lines = [(f"s{step}-l{i}", amount) for i, amount in enumerate(amounts)]
        await earn(db, card, order_lines, points_paid=sum(amounts) * percent // 100, at=clock.now())
        lines.extend(order_lines)
    elif kind == "redeem":
        with contextlib.suppress(InsufficientPoints):  # more than available: refused, nothing written
            await service.redeem(db, card_number=card, points=op[1], reference=f"order-{step}", channel="web")
    elif kind == "spend_all":
        available = (await _account_or_none(db, card) or LoyaltyAccount(available=0)).available
        if available:
            await service.redeem(db, card_number=card, points=available, reference=f"order-{step}", channel="app")
    elif kind == "reverse" and lines:
        line_id, paid = lines[op[1] % len(lines)]
        refund = max(1, paid * op[2] // 100)
        await service.reverse(db, source_id=f"ret-{step}", event_type="return.refunded", lines=[(line_id, refund)])
    elif kind == "wait":
        clock.advance(timedelta(days=op[1]))
        while await service.release_pending(db):
            pass
        while await service.expire_points(db):
            pass
    elif kind == "adjust":
        with contextlib.suppress(InsufficientPoints):
            await service.adjust(db, card_number=card, points=op[1], reason="property")
