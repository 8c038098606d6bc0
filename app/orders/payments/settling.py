"""Settling card tenders with their gateway after the order's transaction committed (the
`orders.settle_payments` actor): what the tenders record as captured or released is caught
up at the gateway, outside any row lock."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import transaction
from app.orders import repository
from app.orders.payments import registry


async def settle_payments(maker: async_sessionmaker[AsyncSession], order_id: uuid.UUID) -> int:
    """Catch the gateway up with the card tenders' captured/released amounts. Each call is
    keyed by the cumulative amount, so repeats and concurrent runs move no money twice.
    No transaction is open during a gateway call. Returns how many calls were made."""
    async with transaction(maker) as session:
        cards = [
            (t.id, t.provider, t.authorization_id, t.captured, t.gateway_captured, t.released, t.gateway_released)
            for t in await repository.tenders(session, order_id)
            if t.kind == "card" and t.authorization_id
        ]
    calls = 0
    for tender_id, provider, auth_id, captured, g_captured, released, g_released in cards:
        gateway = registry.provider(provider or registry.DEFAULT_PROVIDER, maker)
        assert auth_id is not None
        if captured > g_captured:
            await gateway.capture(f"capture:{tender_id}:{captured}", auth_id, captured - g_captured)
            calls += 1
        if released > g_released:
            await gateway.void(f"release:{tender_id}:{released}", auth_id, released - g_released)
            calls += 1
        async with transaction(maker) as session:
            await repository.gateway_caught_up(session, tender_id, captured, released)
    return calls
