"""The built-in `test` gateway behaves like a real one: documented tokens, idempotent keys,
never captures more than held nor refunds more than captured."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.orders.payments import registry
from app.orders.payments.models import TestGatewayAuthorization
from app.orders.payments.provider import Declined, GatewayError, GatewayTimeout


async def test_documented_tokens_and_idempotency(db_maker: async_sessionmaker[AsyncSession], db: AsyncSession) -> None:
    gateway = registry.provider("test", db_maker)
    first = await gateway.authorize("k-1", "tok_visa", 1999, "EUR")
    again = await gateway.authorize("k-1", "tok_visa", 1999, "EUR")
    assert first == again and first.status == "authorized"
    with pytest.raises(GatewayError):
        await gateway.authorize("k-1", "tok_visa", 2999, "EUR")
    with pytest.raises(Declined):
        await gateway.authorize("k-2", "tok_declined", 1999, "EUR")
    with pytest.raises(Declined):  # a declined key stays declined
        await gateway.authorize("k-2", "tok_declined", 1999, "EUR")
    with pytest.raises(GatewayTimeout):
        await gateway.authorize("k-3", "tok_timeout", 1999, "EUR")

    await gateway.capture("c-1", first.id, 1500)
    await gateway.capture("c-1", first.id, 1500)  # same key: no second capture
    with pytest.raises(GatewayError):
        await gateway.capture("c-2", first.id, 600)  # only 499 still held
    await gateway.refund("r-1", first.id, 1000)
    with pytest.raises(GatewayError):
        await gateway.refund("r-2", first.id, 501)  # refunded <= captured
    await gateway.void("v-1", first.id)
    auth = await db.get(TestGatewayAuthorization, first.id, populate_existing=True)
    assert auth is not None
    assert (auth.amount, auth.captured, auth.refunded, auth.released) == (1999, 1500, 1000, 499)
    assert (await gateway.authorize("k-1", "tok_visa", 1999, "EUR")).status == "voided"


def test_unknown_provider_is_a_problem() -> None:
    with pytest.raises(Exception) as info:
        registry.provider("no-such-gateway", async_sessionmaker())
    assert getattr(info.value, "code", None) == "unknown_payment_provider"
