"""The interface every card gateway implements, and what it answers.

Every call carries an idempotency key chosen by the OMS: the gateway answers a repeated
key with the first answer and never moves money twice. Gateways raise `Declined`,
`GatewayTimeout` or `GatewayError`; the orders service turns them into problems.
"""

from __future__ import annotations

from typing import Protocol

import msgspec


class Authorization(msgspec.Struct, frozen=True):
    id: str
    amount: int
    currency: str
    # authorized | voided (a voided authorization holds nothing any more)
    status: str


class Declined(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GatewayTimeout(Exception):
    """The gateway did not answer in time: the outcome is unknown, retry with the same key."""


class GatewayError(Exception):
    """The gateway refused the request itself (e.g. a key reused with another amount)."""


class PaymentProvider(Protocol):
    name: str

    async def authorize(self, key: str, token: str, amount: int, currency: str) -> Authorization:
        """Hold `amount` on the card `token`. Raises Declined / GatewayTimeout / GatewayError."""
        ...

    async def capture(self, key: str, authorization_id: str, amount: int) -> None:
        """Take `amount` of the held money (when the goods leave)."""
        ...

    async def void(self, key: str, authorization_id: str, amount: int | None = None) -> None:
        """Release `amount` of what is still held (all of it when None)."""
        ...

    async def refund(self, key: str, authorization_id: str, amount: int) -> None:
        """Give back `amount` of what was captured."""
        ...
