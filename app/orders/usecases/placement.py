"""Order placement from a cart or from explicit lines.

Three steps, so that no row lock is ever held across a gateway call:
1. `prepare_order` (reads only, each its own statement: the caller runs it in
   `app.core.db.autocommit`, no BEGIN/COMMIT): validate, price with the engine, check tenders.
2. `authorize_cards` (no transaction): authorize each card tender at its gateway, keyed by
   the order's payment key, so a retried request never authorizes twice.
3. `write_order` (one transaction, run by `in_order_transaction`): redeem promotions and
   points, write the order, let fulfilment's sourcing rules plan the locations and write the
   fulfillment orders (`fulfillment.plan_and_reserve`), write the lines (with the engine's
   exact per-line result), tenders, timeline and outbox events — and reserve the planned
   stock as the transaction's last step; if that stock went meanwhile, the transaction runs
   again with a fresh plan.
If step 3 fails, `void_cards` releases the authorizations (unless a concurrent twin of the
same request committed the order).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.auth import Principal
from app.core.db import insert_rows, transaction
from app.core.idempotency import IdempotencyKeyReused
from app.core.models import OutboxEvent
from app.core.settings import get_settings
from app.fulfillment import service as fulfillment
from app.orders import repository, rules
from app.orders.errors import (
    CardDeclined,
    CartEmpty,
    CartNotFound,
    CartNotOpen,
    InvalidAddress,
    LinesOrCart,
    PaymentGatewayError,
    PaymentGatewayTimeout,
    PickupNotOffered,
    TenderNotAllowed,
    TendersDoNotSumToTotal,
    UnknownLocation,
    UnknownPromotionCode,
)
from app.orders.models import Order, OrderLine, OrderTender, OrderTimelineEntry
from app.orders.payments import registry
from app.orders.payments.provider import Declined, GatewayError, GatewayTimeout
from app.orders.schemas import OrderCreate, OrderOut, TenderIn
from app.orders.usecases import hooks, neighbours
from app.orders.usecases.carts import _customer
from app.orders.usecases.common import channel_of, event_row, order_out, timeline_row

T = TypeVar("T")
_NUMBER_ATTEMPTS = 8
_REAUTHORIZE_ATTEMPTS = 5


@dataclass
class Draft:
    """A validated, priced order not yet written."""

    channel: str
    store_code: str | None
    customer_id: uuid.UUID | None
    cart_id: uuid.UUID | None
    currency: str
    lines: dict[str, int]
    codes: list[str]
    quote: Any
    fulfilment: rules.Fulfilment
    pickup_location: str | None
    address: dict[str, Any] | None
    tenders: list[TenderIn]


@dataclass
class CardAuthorization:
    position: int
    provider: str
    authorization_id: str
    amount: int


@dataclass
class Authorizations:
    payment_key: str
    cards: list[CardAuthorization] = field(default_factory=list)


def _sum(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for sku, qty in lines:
        total[sku] = total.get(sku, 0) + qty
    return total


async def prepare_order(session: AsyncSession, principal: Principal, data: OrderCreate, token: str | None) -> Draft:
    channel = channel_of(principal)
    if channel is None:
        raise TenderNotAllowed("only a channel's key places orders", code="channel_required")
    if (data.cart_id is None) == (data.lines is None):
        raise LinesOrCart("send either cart_id or lines")
    codes = [c.strip().upper() for c in data.codes]
    if data.cart_id is not None:
        cart = await repository.cart(session, data.cart_id)
        if cart is None:
            raise CartNotFound(f"no cart {data.cart_id}")
        if cart.customer_id is not None:
            await neighbours.authorize_customer(session, principal, cart.customer_id, token)
        if cart.status != "open":
            raise CartNotOpen(f"the cart is {cart.status}", cart_status=cart.status)
        lines = await repository.cart_lines(session, cart.id)
        customer_id, currency = cart.customer_id, cart.currency
        codes = list(dict.fromkeys([*cart.codes, *codes]))
    else:
        lines = _sum([(line.sku, line.quantity) for line in data.lines or []])
        customer_id = await _customer(session, principal, data.customer_id, token) if data.customer_id else None
        currency = data.currency or get_settings().currency
    if not lines:
        raise CartEmpty("an order needs at least one line")
    pickup, address = await _fulfilment(session, principal, data)
    quote = await neighbours.quote(
        session,
        currency=currency,
        lines=lines,
        codes=codes,
        customer_id=customer_id,
        channel=channel,
        store=pickup or principal.location_code,
        address=address,
    )
    unknown = [c.code for c in quote.result.codes if str(c.reason) == "unknown_code"]
    if unknown:
        raise UnknownPromotionCode(f"unknown code {unknown[0]!r}", codes=unknown)
    _check_tenders(data, quote, channel)
    return Draft(
        channel=channel,
        store_code=principal.location_code,
        customer_id=customer_id,
        cart_id=data.cart_id,
        currency=currency,
        lines=lines,
        codes=codes,
        quote=quote,
        fulfilment=data.fulfilment,
        pickup_location=pickup,
        address=address,
        tenders=list(data.tenders),
    )


async def _fulfilment(
    session: AsyncSession, principal: Principal, data: OrderCreate
) -> tuple[str | None, dict[str, Any] | None]:
    if data.fulfilment == rules.Fulfilment.DELIVERY:
        if data.delivery_address is None or data.pickup_location is not None:
            raise InvalidAddress("home delivery needs a delivery_address (and no pickup_location)")
        return None, msgspec.to_builtins(data.delivery_address)
    if data.pickup_location is None or data.delivery_address is not None:
        raise PickupNotOffered("pickup needs a pickup_location (and no delivery_address)", field="pickup_location")
    # A kiosk or POS key acts for its own store only.
    principal.require_location(data.pickup_location)
    store = await neighbours.location(session, data.pickup_location)
    if store is None:
        raise UnknownLocation(f"no location {data.pickup_location}", field="pickup_location")
    if not store.pickup or not getattr(store, "active", True):
        raise PickupNotOffered(f"{store.code} does not offer pickup", location=store.code)
    return store.code, None


def _check_tenders(data: OrderCreate, quote: Any, channel: str) -> None:
    total = quote.result.total
    requests = [rules.TenderRequest(kind=t.kind, amount=t.amount) for t in data.tenders]
    problems = rules.tender_problems(requests, total, channel, data.fulfilment)
    paid = sum(t.amount for t in data.tenders)
    if paid != total:
        raise _total_mismatch(problems[-1], quote, paid)
    if problems:
        raise TenderNotAllowed("; ".join(problems))
    for index, tender in enumerate(data.tenders):
        if tender.kind == rules.TenderKind.CARD:
            if tender.card_token is None:
                raise TenderNotAllowed(f"tenders[{index}]: a card tender needs card_token")
            registry.provider(tender.provider or registry.DEFAULT_PROVIDER, _NO_SESSIONS)
        if tender.kind == rules.TenderKind.LOYALTY_POINTS:
            if not hooks.points_accepted():
                raise TenderNotAllowed(f"tenders[{index}]: loyalty points are not accepted yet")
            if tender.loyalty_card is None:
                raise TenderNotAllowed(f"tenders[{index}]: a points tender needs loyalty_card")


def _total_mismatch(problem: str, quote: Any, paid: int) -> TendersDoNotSumToTotal:
    """The order's price differs from what the client tendered, usually because its quote
    was made with facts that no longer hold (a code used up or expired, a promotion ended,
    a tier the customer does not have): say what this price applied and which codes not."""
    applied = [
        {
            "promotion_id": d.promotion_id,
            "name": quote.promotion_names.get(d.promotion_id),
            "code": d.code,
            "amount": d.amount,
        }
        for d in quote.result.discounts
    ]
    not_applied = [{"code": c.code, "reason": str(c.reason)} for c in quote.result.codes if not c.applied]
    why = "; promotions applied: " + (", ".join(str(a["name"]) for a in applied) or "none")
    if not_applied:
        why += "; codes that do not apply: " + ", ".join(f"{c['code']} ({c['reason']})" for c in not_applied)
    return TendersDoNotSumToTotal(
        f"{problem}{why}. Quote again and tender the new total.",
        total=quote.result.total,
        tendered=paid,
        applied_promotions=applied,
        codes_not_applied=not_applied,
    )


# Only to check that a provider name exists; never used to open a session.
_NO_SESSIONS: async_sessionmaker[AsyncSession] = async_sessionmaker()


async def authorize_cards(maker: async_sessionmaker[AsyncSession], draft: Draft, payment_key: str) -> Authorizations:
    """Authorize every card tender, outside any transaction of ours."""
    result = Authorizations(payment_key=payment_key)
    for position, tender in enumerate(draft.tenders):
        if tender.kind != rules.TenderKind.CARD:
            continue
        name = tender.provider or registry.DEFAULT_PROVIDER
        gateway = registry.provider(name, maker)
        try:
            auth = None
            for attempt in range(_REAUTHORIZE_ATTEMPTS):
                # A key whose authorization we voided after a failed attempt answers
                # "voided" forever: a retry of the request authorizes under a fresh suffix.
                key = f"{payment_key}:{position}" + (f":r{attempt}" if attempt else "")
                auth = await gateway.authorize(key, tender.card_token or "", tender.amount, draft.currency)
                if auth.status == "authorized":
                    break
            assert auth is not None
        except Declined as exc:
            await void_cards(maker, result)
            raise CardDeclined(
                f"the card was declined: {exc.reason}", tender=position, decline_code=exc.reason
            ) from None
        except GatewayTimeout:
            await void_cards(maker, result)
            raise PaymentGatewayTimeout(
                "the payment gateway did not answer; retry with the same Idempotency-Key",
                tender=position,
                headers={"Retry-After": str(get_settings().retry_after_seconds)},
            ) from None
        except GatewayError as exc:
            await void_cards(maker, result)
            if "reused" in str(exc):
                raise IdempotencyKeyReused("this key was first used with another card or amount") from None
            raise PaymentGatewayError(str(exc), tender=position) from None
        result.cards.append(CardAuthorization(position, name, auth.id, tender.amount))
    return result


_ORDER_TRANSACTION_ATTEMPTS = 3


async def in_order_transaction(
    maker: async_sessionmaker[AsyncSession], write: Callable[[AsyncSession, bool], Awaitable[T]]
) -> T:
    """Run `write(session, reserve_last)` in the order's transaction. With the reserve last,
    a commit that finds the planned stock gone (StockMoved) runs it again with a fresh plan;
    the last attempt reserves at once (re-planning inside), which answers definitely: the
    order, or 409 `insufficient_stock`."""
    for attempt in range(1, _ORDER_TRANSACTION_ATTEMPTS + 1):
        try:
            async with transaction(maker) as session:
                return await write(session, attempt < _ORDER_TRANSACTION_ATTEMPTS)
        except fulfillment.StockMoved:
            if attempt == _ORDER_TRANSACTION_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def void_cards(maker: async_sessionmaker[AsyncSession], auths: Authorizations) -> None:
    """Release the authorizations of an order that was not written. A twin request with the
    same key may have committed the order meanwhile: then the money stays held."""
    if not auths.cards:
        return
    async with transaction(maker) as session:
        if await repository.order_id_by_payment_key(session, auths.payment_key) is not None:
            return
    for card in auths.cards:
        await registry.provider(card.provider, maker).void(f"void:{card.authorization_id}", card.authorization_id)


async def _source(
    session: AsyncSession,
    principal: Principal,
    draft: Draft,
    order_id: uuid.UUID,
    number: str,
    reference: str,
    reserve_last: bool,
) -> fulfillment.Sourced:
    """Fulfilment's sourcing rules choose the locations, reserve under `reference` and write
    the fulfillment orders; raises its 409 `insufficient_stock` with what is where."""
    address = draft.address or {}
    return await fulfillment.plan_and_reserve(
        session,
        fulfillment.OrderToSource(
            order_id=order_id,
            order_number=number,
            reservation_ref=reference,
            fulfilment="pickup" if draft.pickup_location is not None else "delivery",
            lines=[(str(no), snap.sku, snap.quantity) for no, snap in enumerate(draft.quote.result.lines, start=1)],
            pickup_location=draft.pickup_location,
            latitude=address.get("latitude"),
            longitude=address.get("longitude"),
        ),
        actor=principal.key_id,
        reserve_last=reserve_last,
    )


async def write_order(
    session: AsyncSession, principal: Principal, draft: Draft, auths: Authorizations, *, reserve_last: bool = False
) -> OrderOut:
    """The order transaction: reserve, redeem, write. Raises (and writes nothing) on failure.
    `reserve_last`: the stock is reserved as the transaction's last step, so that the rows
    of a best seller stay locked only for that and the commit; the commit then raises
    `StockMoved` when the planned stock went meanwhile, and the caller runs it again."""
    now = clock.now()
    order_id = uuid.uuid4()
    if draft.cart_id is not None:
        cart = await repository.cart(session, draft.cart_id, lock=True)
        if cart is None or cart.status != "open":
            raise CartNotOpen("the cart was ordered or closed meanwhile")
    reference = f"order:{order_id}"
    quote = draft.quote.result
    if quote.discounts:
        await neighbours.redeem(session, draft.quote, order_id=order_id, customer_id=draft.customer_id)
    tender_rows = await _tender_rows(session, draft, auths, order_id)
    status = rules.next_status(rules.Status.PLACED, rules.Action.RELEASE)
    values: dict[str, Any] = {
        "id": order_id,
        "status": status.value,
        "channel": draft.channel,
        "store_code": draft.store_code,
        "api_key_id": principal.key_id,
        "customer_id": draft.customer_id,
        "cart_id": draft.cart_id,
        "fulfilment": draft.fulfilment.value,
        "pickup_location_code": draft.pickup_location,
        "delivery_address": draft.address,
        "currency": draft.currency,
        "subtotal": quote.subtotal,
        "discount_total": quote.discount_total,
        "total": quote.total,
        "codes": [c.code for c in quote.codes if c.applied],
        "pricing": msgspec.to_builtins(
            {"discounts": quote.discounts, "codes": quote.codes, "delivery": quote.delivery, "zone": quote.zone}
        ),
        "reservation_ref": reference,
        "payment_key": auths.payment_key,
        "open_holds": 0,
        "placed_at": now,
        "updated_at": now,
        "cancelled_at": None,
        "cancel_reason": None,
    }
    for _ in range(_NUMBER_ATTEMPTS):
        values["number"] = rules.new_order_number()
        if await repository.insert_order(session, values):
            break
    else:
        raise RuntimeError("could not draw a free order number")
    # Sourcing (fulfilment's rules) reserves and writes the fulfillment orders, in this transaction.
    sourced = await _source(session, principal, draft, order_id, values["number"], reference, reserve_last)
    location = sourced.summary
    line_rows = [
        {
            "order_id": order_id,
            "line_no": no,
            "sku": snap.sku,
            "quantity": snap.quantity,
            "unit_price": snap.unit_price,
            "discount": snap.gross - snap.net,
            "line_total": snap.net,
            "pricing": msgspec.to_builtins(snap),
            "location_code": sourced.line_locations[str(no)][0][0],
            "cancelled_quantity": 0,
            "fulfilled_quantity": 0,
        }
        for no, snap in enumerate(quote.lines, start=1)
    ]
    timeline = [
        timeline_row(order_id, "placed", principal, to_status="placed", detail={"location": location}),
        timeline_row(order_id, "released", principal, from_status="placed", to_status=status.value),
    ]
    order = Order(**values)
    events = [
        event_row("order.placed", order, total=order.total, currency=order.currency, location=location),
        event_row("order.released", order),
    ]
    await insert_rows(
        session, {OrderLine: line_rows, OrderTender: tender_rows, OrderTimelineEntry: timeline, OutboxEvent: events}
    )
    if draft.cart_id is not None:
        await repository.mark_cart_ordered(session, draft.cart_id, order_id, now)
    return order_out(order, [OrderLine(**row) for row in line_rows], [OrderTender(**row) for row in tender_rows], [])


async def _tender_rows(
    session: AsyncSession, draft: Draft, auths: Authorizations, order_id: uuid.UUID
) -> list[dict[str, Any]]:
    cards = {card.position: card for card in auths.cards}
    rows: list[dict[str, Any]] = []
    for position, tender in enumerate(draft.tenders):
        card = cards.get(position)
        reference = None
        if tender.kind == rules.TenderKind.LOYALTY_POINTS:
            reference = await hooks.redeem_points(
                session, tender.loyalty_card, tender.amount, draft.currency, order_id, draft.channel
            )
        # Cash at the till and points are taken now; cards and on-delivery tenders are
        # captured when the goods leave.
        taken_now = tender.kind in (rules.TenderKind.CASH, rules.TenderKind.LOYALTY_POINTS)
        captured = tender.amount if taken_now else 0
        rows.append(
            {
                "id": uuid.uuid4(),
                "order_id": order_id,
                "position": position,
                "kind": tender.kind.value,
                "amount": tender.amount,
                "provider": card.provider if card else None,
                "authorization_id": card.authorization_id if card else None,
                "reference": reference,
                "captured": captured,
                "released": 0,
                "refunded": 0,
                "gateway_captured": 0,
                "gateway_released": 0,
            }
        )
    return rows
