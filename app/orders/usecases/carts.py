"""Carts: anonymous or a customer's, one open cart per customer shared by every channel,
priced live by the price engine every time they are shown."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal
from app.core.errors import InvalidInput
from app.core.money import is_supported
from app.core.settings import get_settings
from app.customers import service as customers
from app.customers.errors import CustomerNotFound
from app.orders import repository, rules
from app.orders.errors import CartEmpty, CartLimitReached, CartNotFound, CartNotOpen, UnknownPromotionCode
from app.orders.models import Cart
from app.orders.schemas import MAX_CODES, MAX_LINES, CartCreate, CartOut, CodeOut, Discount, PricedLine
from app.orders.usecases.common import channel_of, quote, release_stock
from app.pricing import service as pricing

MAX_QUANTITY = 1_000_000


def _expiry() -> tuple[datetime, datetime]:
    now = clock.now()
    return now, now + timedelta(minutes=get_settings().cart_ttl_minutes)


async def _customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None
) -> uuid.UUID:
    survivor = await customers.resolve_customer_id(session, customer_id)
    if survivor is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    await customers.authorize_customer_access(session, principal, survivor, token)
    return survivor


async def priced(
    session: AsyncSession, cart: Cart, lines: dict[str, int], facts: pricing.CustomerFacts = pricing.GUEST
) -> CartOut:
    """The cart as the price engine sees it now, with the customer's facts (tier, first
    order) the flow read (app/flows/quote.py); an unknown code among the cart's is a 422."""
    subtotal = discount_total = total = 0
    priced_lines: list[PricedLine] = []
    codes = [CodeOut(code=c, applied=False, reason="cart_empty") for c in cart.codes]
    if lines:
        result: Any = await quote(
            session,
            currency=cart.currency,
            lines=lines,
            codes=cart.codes,
            customer_id=cart.customer_id,
            channel=cart.channel,
            store=cart.location_code,
            facts=facts,
        )
        result = result.result
        priced_lines = [
            PricedLine(
                sku=snap.sku,
                quantity=snap.quantity,
                unit_price=snap.unit_price,
                gross=snap.gross,
                discounts=[Discount(promotion_id=d.promotion_id, code=d.code, amount=d.amount) for d in snap.discounts],
                net=snap.net,
            )
            for snap in result.lines
        ]
        codes = [CodeOut(code=c.code, applied=c.applied, reason=str(c.reason)) for c in result.codes]
        unknown = [c.code for c in codes if c.reason == "unknown_code"]
        if unknown:
            raise UnknownPromotionCode(f"unknown code {unknown[0]!r}", codes=unknown)
        subtotal, discount_total, total = result.subtotal, result.discount_total, result.total
    return CartOut(
        id=cart.id,
        status=cart.status,
        customer_id=cart.customer_id,
        channel=cart.channel,
        currency=cart.currency,
        lines=priced_lines,
        codes=codes,
        subtotal=subtotal,
        discount_total=discount_total,
        total=total,
        merged_into=cart.merged_into_id,
        order_id=cart.order_id,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
        expires_at=cart.expires_at,
    )


def _sum_lines(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for sku, qty in lines:
        total[sku] = min(total.get(sku, 0) + qty, MAX_QUANTITY)
    return total


def _check_size(lines: dict[str, int], codes: Sequence[str]) -> None:
    if len(lines) > MAX_LINES or len(codes) > MAX_CODES:
        raise CartLimitReached(f"a cart holds at most {MAX_LINES} SKUs and {MAX_CODES} codes")


async def create_cart(
    session: AsyncSession,
    principal: Principal,
    data: CartCreate,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    """A new cart; for a customer who already has an open cart, that cart gains the lines."""
    currency = data.currency or get_settings().currency
    if not is_supported(currency):
        raise InvalidInput(f"{currency} is not a supported currency", code="unsupported_currency", field="currency")
    customer_id = await _customer(session, principal, data.customer_id, token) if data.customer_id else None
    now, expires = _expiry()
    cart = await repository.insert_cart(
        session,
        {
            "id": uuid.uuid4(),
            "customer_id": customer_id,
            "status": "open",
            "currency": currency,
            "channel": channel_of(principal),
            "location_code": principal.location_code,
            "codes": list(dict.fromkeys(c.strip().upper() for c in data.codes)),
            "created_at": now,
            "updated_at": now,
            "expires_at": expires,
        },
    )
    if cart is None:  # the customer's open cart: the same cart in every channel
        assert customer_id is not None
        cart = await repository.open_cart_of(session, customer_id, lock=True)
        if cart is None:
            raise CartNotOpen("the customer's cart changed concurrently; retry")
        cart.codes = list(dict.fromkeys([*cart.codes, *(c.strip().upper() for c in data.codes)]))
        cart.updated_at, cart.expires_at = now, expires
    added = _sum_lines([(line.sku, line.quantity) for line in data.lines])
    await repository.add_cart_lines(session, cart.id, added, now, MAX_QUANTITY)
    lines = await repository.cart_lines(session, cart.id)
    _check_size(lines, cart.codes)
    await session.flush()
    return await priced(session, cart, lines, facts)


async def _open_cart(session: AsyncSession, principal: Principal, cart_id: uuid.UUID, token: str | None) -> Cart:
    cart = await repository.cart(session, cart_id, lock=True)
    if cart is None:
        raise CartNotFound(f"no cart {cart_id}")
    if cart.customer_id is not None:
        await customers.authorize_customer_access(session, principal, cart.customer_id, token)
    if cart.status != "open":
        raise CartNotOpen(
            f"the cart is {cart.status}", cart_status=cart.status, merged_into=str(cart.merged_into_id or "")
        )
    return cart


def _touch(cart: Cart) -> None:
    cart.updated_at, cart.expires_at = _expiry()


async def get_cart(
    session: AsyncSession,
    principal: Principal,
    cart_id: uuid.UUID,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    cart = await repository.cart(session, cart_id)
    if cart is None:
        raise CartNotFound(f"no cart {cart_id}")
    if cart.customer_id is not None:
        await customers.authorize_customer_access(session, principal, cart.customer_id, token)
    return await priced(session, cart, await repository.cart_lines(session, cart.id), facts)


async def customer_cart(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    """The customer's open cart, created empty if there is none (so every channel finds one)."""
    survivor = await _customer(session, principal, customer_id, token)
    cart = await repository.open_cart_of(session, survivor)
    if cart is None:
        return await create_cart(session, principal, CartCreate(customer_id=survivor), token, facts)
    return await priced(session, cart, await repository.cart_lines(session, cart.id), facts)


async def add_line(
    session: AsyncSession,
    principal: Principal,
    cart_id: uuid.UUID,
    sku: str,
    quantity: int,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    cart = await _open_cart(session, principal, cart_id, token)
    _touch(cart)
    await repository.add_cart_lines(session, cart.id, {sku: quantity}, clock.now(), MAX_QUANTITY)
    lines = await repository.cart_lines(session, cart.id)
    _check_size(lines, cart.codes)
    return await priced(session, cart, lines, facts)


async def set_line(
    session: AsyncSession,
    principal: Principal,
    cart_id: uuid.UUID,
    sku: str,
    quantity: int,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    cart = await _open_cart(session, principal, cart_id, token)
    _touch(cart)
    await repository.set_cart_line(session, cart.id, sku, quantity, clock.now())
    lines = await repository.cart_lines(session, cart.id)
    _check_size(lines, cart.codes)
    return await priced(session, cart, lines, facts)


async def add_code(
    session: AsyncSession,
    principal: Principal,
    cart_id: uuid.UUID,
    code: str,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    cart = await _open_cart(session, principal, cart_id, token)
    _touch(cart)
    cart.codes = list(dict.fromkeys([*cart.codes, code.strip().upper()]))
    lines = await repository.cart_lines(session, cart.id)
    _check_size(lines, cart.codes)
    if not lines:  # an empty cart cannot tell a known code from an unknown one yet
        raise CartEmpty("add lines before promotion codes", promotion_code=code)
    return await priced(session, cart, lines, facts)


async def remove_code(
    session: AsyncSession,
    principal: Principal,
    cart_id: uuid.UUID,
    code: str,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    cart = await _open_cart(session, principal, cart_id, token)
    _touch(cart)
    cart.codes = [c for c in cart.codes if c != code.strip().upper()]
    return await priced(session, cart, await repository.cart_lines(session, cart.id), facts)


async def assign(
    session: AsyncSession,
    principal: Principal,
    cart_id: uuid.UUID,
    customer_id: uuid.UUID,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> CartOut:
    """Give an anonymous cart to a customer; if they already have an open cart, its lines
    are merged into that one and this cart is closed as `merged`."""
    survivor = await _customer(session, principal, customer_id, token)
    cart = await _open_cart(session, principal, cart_id, token)
    if cart.customer_id == survivor:
        return await priced(session, cart, await repository.cart_lines(session, cart.id), facts)
    if cart.customer_id is not None:
        raise CartNotOpen("the cart already belongs to another customer")
    target = await repository.open_cart_of(session, survivor, lock=True)
    if target is None:
        cart.customer_id = survivor
        _touch(cart)
        await session.flush()
        return await priced(session, cart, await repository.cart_lines(session, cart.id), facts)
    merged = await merge_into(session, cart, target)
    return await priced(session, target, merged, facts)


async def merge_into(session: AsyncSession, absorbed: Cart, target: Cart) -> dict[str, int]:
    """Lines of `absorbed` join `target` (same SKU adds up); `absorbed` closes as merged."""
    merged = rules.merge_cart_lines(
        await repository.cart_lines(session, target.id), await repository.cart_lines(session, absorbed.id), MAX_QUANTITY
    )
    now = clock.now()
    await repository.replace_cart_lines(session, target.id, merged, now)
    target.codes = list(dict.fromkeys([*target.codes, *absorbed.codes]))[:MAX_CODES]
    _touch(target)
    absorbed.status, absorbed.merged_into_id, absorbed.updated_at = "merged", target.id, now
    await session.flush()
    # Holds of the absorbed cart (a kiosk hold) are not carried over: the survivor re-holds.
    await release_stock(session, f"cart:{absorbed.id}")
    return merged


async def expire_carts(session: AsyncSession, limit: int = 200) -> int:
    """Close idle open carts and release their holds; returns how many."""
    carts = await repository.expired_carts(session, clock.now(), limit)
    for cart in carts:
        cart.status, cart.updated_at = "expired", clock.now()
        await release_stock(session, f"cart:{cart.id}")
        await outbox.record(
            session,
            "cart.expired",
            aggregate_type="cart",
            aggregate_id=str(cart.id),
            payload={"cart_id": str(cart.id), "customer_id": str(cart.customer_id) if cart.customer_id else None},
        )
    await session.flush()
    return len(carts)


async def move_customer_carts(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
    """Customer merge: the absorbed customer's open cart joins the survivor's (or becomes it)."""
    absorbed = await repository.open_cart_of(session, absorbed_id, lock=True)
    if absorbed is not None:
        target = await repository.open_cart_of(session, survivor_id, lock=True)
        if target is None:
            absorbed.customer_id = survivor_id
            await session.flush()
        else:
            await merge_into(session, absorbed, target)
    await repository.move_carts(session, survivor_id, absorbed_id)


async def cart_customer(session: AsyncSession, cart_id: uuid.UUID) -> uuid.UUID | None:
    """The customer a cart belongs to (None: anonymous or no such cart) — what the flow
    needs to read the customer's pricing facts before the cart is priced. No access check:
    the cart use case that follows checks it."""
    cart = await repository.cart(session, cart_id)
    return cart.customer_id if cart is not None else None
