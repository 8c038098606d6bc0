"""The built-in `test` gateway: behaves like a real one, with documented card tokens.

- `tok_visa` (or any other token) is approved.
- `tok_declined` is declined (the order answers 402 `card_declined`).
- `tok_timeout` times out (the order answers 503 `payment_gateway_timeout`); nothing is held.

Idempotent by the caller's key: a repeated authorize returns the first answer (a declined
key stays declined), a repeated capture/void/refund moves no money twice, and a key reused
with another card or amount is refused like a real gateway refuses it. Its books live in its
own tables and its own transactions, never in the caller's.
"""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import autocommit, fetchrow, transaction
from app.orders.payments.models import TestGatewayAuthorization as Auth
from app.orders.payments.models import TestGatewayOperation as Operation
from app.orders.payments.provider import Authorization, Declined, GatewayError, GatewayTimeout

APPROVED_TOKEN = "tok_visa"
DECLINED_TOKEN = "tok_declined"
TIMEOUT_TOKEN = "tok_timeout"


# A new key inserts; a repeated key returns the first answer (the no-op update is what makes
# RETURNING yield the existing row). One statement on the driver, committed on its own.
_AUTHORIZE = f"""
INSERT INTO {Auth.__tablename__} AS a
    (id, idempotency_key, token, amount, currency, status, captured, released, refunded)
VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0)
ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = excluded.idempotency_key
RETURNING a.id, a.token, a.amount, a.currency, a.status, a.captured, a.released
"""


class TestGateway:
    __test__ = False  # not a pytest class
    name = "test"
    # Seconds the simulated gateway "hangs" before timing out; tests keep it at zero.
    timeout_delay = 0.0

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def authorize(self, key: str, token: str, amount: int, currency: str) -> Authorization:
        if token == TIMEOUT_TOKEN:
            await asyncio.sleep(self.timeout_delay)
            raise GatewayTimeout("simulated gateway timeout")
        status = "declined" if token == DECLINED_TOKEN else "authorized"
        async with autocommit(self.sessionmaker) as session:
            row = await fetchrow(
                session, _AUTHORIZE, "auth_" + secrets.token_hex(12), key, token, amount, currency, status
            )
        if (row["token"], row["amount"], row["currency"]) != (token, amount, currency):
            raise GatewayError("idempotency key reused with another card or amount")
        if row["status"] == "declined":
            raise Declined("do_not_honor")
        held = row["amount"] - row["captured"] - row["released"]
        return Authorization(
            id=row["id"], amount=row["amount"], currency=row["currency"], status="authorized" if held > 0 else "voided"
        )

    async def capture(self, key: str, authorization_id: str, amount: int) -> None:
        await self._move(key, authorization_id, "capture", amount)

    async def void(self, key: str, authorization_id: str, amount: int | None = None) -> None:
        await self._move(key, authorization_id, "void", amount)

    async def refund(self, key: str, authorization_id: str, amount: int) -> None:
        await self._move(key, authorization_id, "refund", amount)

    async def _move(self, key: str, authorization_id: str, kind: str, amount: int | None) -> None:
        async with transaction(self.sessionmaker) as session:
            auth = await session.get(Auth, authorization_id, with_for_update=True)
            if auth is None or auth.status != "authorized":
                raise GatewayError(f"no approved authorization {authorization_id}")
            done = await session.scalar(select(Operation.id).where(Operation.idempotency_key == key))
            if done is not None:
                return  # the same key again: answered before, no money moves twice
            held = auth.amount - auth.captured - auth.released
            if amount is None:
                amount = held if kind == "void" else 0
            limit = auth.captured - auth.refunded if kind == "refund" else held
            if amount > limit:
                raise GatewayError(f"{kind} of {amount} exceeds the {limit} available")
            column = {"capture": Auth.captured, "void": Auth.released, "refund": Auth.refunded}[kind]
            await session.execute(update(Auth).where(Auth.id == auth.id).values({column: column + amount}))
            session.add(Operation(idempotency_key=key, authorization_id=auth.id, kind=kind, amount=amount))
