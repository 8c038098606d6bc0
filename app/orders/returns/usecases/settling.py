"""Card refunds at the gateway after the refund committed (the `returns.settle_refunds`
actor, and its sweep for refunds whose nudge was lost)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.db import transaction
from app.orders.payments import registry
from app.orders.payments.settling import settle_payments
from app.orders.returns import repository


async def settle_refunds(maker: async_sessionmaker[AsyncSession], return_id: uuid.UUID) -> int:
    """Refund the return's card shares at their gateway, keyed by the refund id (a repeat
    moves no money twice). Captures the order's cards first (the gateway refunds only what
    it captured). No transaction is open during a gateway call. Returns the calls made."""
    async with transaction(maker) as session:
        ret = await repository.get_return(session, return_id)
        if ret is None:
            return 0
        order_id = ret.order_id
    await settle_payments(maker, order_id)
    async with transaction(maker) as session:
        pending = await repository.pending_card_refunds(session, return_id)
    calls = 0
    for row in pending:
        gateway = registry.provider(row.provider or registry.DEFAULT_PROVIDER, maker)
        await gateway.refund(f"refund:{row.id}", row.authorization_id, row.amount)
        calls += 1
        async with transaction(maker) as session:
            await repository.mark_refund_done(session, row.id, clock.now())
    return calls


async def pending_refund_returns(session: AsyncSession, limit: int = 100) -> list[uuid.UUID]:
    return await repository.returns_with_pending_refunds(session, limit)
