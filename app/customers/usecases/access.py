"""Storefront access to a customer's record (tokens) and the contact center's name search."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal, Role, hash_key
from app.core.pagination import Keyset, Page
from app.customers import repository
from app.customers.errors import (
    CustomerNotFound,
    CustomerTokenInvalid,
    CustomerTokenRequired,
    InvalidLookup,
)
from app.customers.schemas import (
    CustomerOut,
    CustomerTokenOut,
)
from app.customers.usecases.records import customer_out, find_customers, resolve_customer_id, token_ttl

TOKEN_PREFIX = "oct_"


# ---- storefront access ------------------------------------------------------------------


async def authorize_customer_access(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None
) -> None:
    """Refuse (403) a storefront key that does not present a valid token of this customer
    (or of a record merged into it). Other roles pass: their routes already limit them."""
    if principal.role is not Role.STOREFRONT:
        return
    if not token:
        raise CustomerTokenRequired("a storefront key must send the customer's X-Customer-Token")
    granted = await repository.token_grants(
        session, token_hash=hash_key(token), api_key_id=principal.key_id, customer_id=customer_id, now=clock.now()
    )
    if not granted:
        raise CustomerTokenInvalid()


async def visible_customers(
    session: AsyncSession, principal: Principal, token: str | None, customers: list[CustomerOut]
) -> list[CustomerOut]:
    """A storefront sees in a look-up only the customer its token is for; others see all."""
    if principal.role is not Role.STOREFRONT:
        return customers
    visible = []
    for customer in customers:
        try:
            await authorize_customer_access(session, principal, customer.id, token)
        except (CustomerTokenRequired, CustomerTokenInvalid):
            continue
        visible.append(customer)
    return visible


async def issue_customer_token(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> CustomerTokenOut:
    """A new token for the survivor of `customer_id`, usable by `principal`'s key only.
    The plaintext is returned once and never stored."""
    survivor_id = await resolve_customer_id(session, customer_id)
    if survivor_id is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + token_ttl()
    await repository.insert_token(
        session,
        token_hash=hash_key(token),
        customer_id=survivor_id,
        api_key_id=principal.key_id,
        created_at=now,
        expires_at=expires_at,
    )
    return CustomerTokenOut(customer_id=survivor_id, token=token, expires_at=expires_at)


async def start_customer_session(
    session: AsyncSession, principal: Principal, *, email: str | None = None, phone: str | None = None
) -> CustomerTokenOut:
    """The storefront has logged the shopper in (its own check): a token for their record."""
    if (email is None) == (phone is None):
        raise InvalidLookup("send exactly one of email or phone")
    found = await find_customers(session, email=email, phone=phone)
    if not found:
        raise CustomerNotFound("no customer with this email or phone")
    return await issue_customer_token(session, principal, found[0].id)


async def purge_expired_tokens(session: AsyncSession) -> int:
    return await repository.delete_expired_tokens(session, clock.now())


# ---- name search (contact center) ---------------------------------------------------------

NAMES = Keyset("customers_by_name", str, uuid.UUID)
MIN_NAME_PREFIX = 2


async def customers_named(session: AsyncSession, prefix: str, *, cursor: str | None, limit: int) -> Page[CustomerOut]:
    """Live records whose name starts with `prefix` (case-insensitive, at least two
    characters), by name. For staff only: a storefront never enumerates customers."""
    wanted = " ".join(prefix.split()).lower()
    if len(wanted) < MIN_NAME_PREFIX:
        raise InvalidLookup(f"a name search needs at least {MIN_NAME_PREFIX} characters")
    after = NAMES.after(cursor, scope=wanted)
    rows = await repository.by_name_prefix(session, wanted, (after[0], after[1]) if after else None, limit)
    items = [customer_out(row[0], row[1]) for row in rows]
    return NAMES.page(items, limit, lambda c: [c.name.lower(), c.id], scope=wanted)


async def customer_of_token(session: AsyncSession, principal: Principal, token: str) -> uuid.UUID:
    """Whose token this is (a storefront listing "my orders" without naming the customer);
    403 `customer_token_invalid` when it is unknown, expired or another key's."""
    customer_id = await repository.token_customer(
        session, token_hash=hash_key(token), api_key_id=principal.key_id, now=clock.now()
    )
    if customer_id is None:
        raise CustomerTokenInvalid()
    return customer_id
