"""Order placement from a cart or from explicit lines: orders' steps of the place-order flow
(`app/flows/place_order.py` runs them, with fulfillment's sourcing and loyalty's points between).

1. `prepare_order` (reads only, each its own statement: the flow runs it in
   `app.core.db.autocommit`, no BEGIN/COMMIT): validate, price with the engine, check tenders.
2. `authorize_cards` (`card_authorization.py`, no transaction): authorize each card tender at its gateway, keyed by
   the order's payment key, so a retried request never authorizes twice.
3. In the order's transaction: `open_order` (promotions redeemed, the order row written) and,
   once sourcing has placed the lines, `finish_order` (lines with the engine's exact per-line
   result, tenders, timeline, outbox events, the cart marked ordered).
If the transaction fails, `void_cards` releases the authorizations (unless a concurrent twin
of the same request committed the order).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.core.db import insert_rows
from app.core.models import OutboxEvent
from app.core.settings import get_settings
from app.customers import service as customers
from app.orders import repository, rules
from app.orders.errors import (
    CartEmpty,
    CartNotFound,
    CartNotOpen,
    LinesOrCart,
    TenderNotAllowed,
    TendersDoNotSumToTotal,
    UnknownPromotionCode,
)
from app.orders.models import Order, OrderLine, OrderTender, OrderTimelineEntry
from app.orders.payments import registry
from app.orders.schemas import OrderCreate, OrderOut
from app.orders.usecases.card_authorization import _NO_SESSIONS, Authorizations
from app.orders.usecases.carts import _customer
from app.orders.usecases.common import Draft, channel_of, event_row, order_out, timeline_row
from app.orders.usecases.destination import Basket, order_contact, price_basket, resolve_destination
from app.pricing import service as pricing

_NUMBER_ATTEMPTS = 8


def _sum(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for sku, qty in lines:
        total[sku] = total.get(sku, 0) + qty
    return total


async def prepare_order(
    session: AsyncSession,
    principal: Principal,
    data: OrderCreate,
    token: str | None,
    facts: pricing.CustomerFacts = pricing.GUEST,
) -> Draft:
    """Validate and price the order; `facts` are the customer's tier and first order as the
    records say (the place-order flow reads them), used only if they are this order's customer."""
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
            await customers.authorize_customer_access(session, principal, cart.customer_id, token)
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
    destination = await resolve_destination(session, principal, data.fulfillment, customer_id, for_order=True)
    contact = order_contact(data.contact, customer_id, destination)
    quote = await price_basket(
        session,
        Basket(currency=currency, lines=lines, codes=codes, customer_id=customer_id),
        channel=channel,
        destination=destination,
        facts=facts,
    )
    unknown = [c.code for c in quote.result.codes if str(c.reason) == "unknown_code"]
    if unknown:
        raise UnknownPromotionCode(f"unknown code {unknown[0]!r}", codes=unknown)
    _check_tenders(data, quote, channel, destination.method)
    return Draft(
        channel=channel,
        store_code=principal.location_code,
        customer_id=customer_id,
        cart_id=data.cart_id,
        currency=currency,
        lines=lines,
        codes=codes,
        quote=quote,
        fulfillment=destination.method,
        pickup_location=destination.pickup_location,
        address=destination.address,
        tenders=list(data.tenders),
        contact=contact,
    )


def _check_tenders(data: OrderCreate, quote: Any, channel: str, method: rules.Fulfillment) -> None:
    total = quote.result.total
    requests = [rules.TenderRequest(kind=t.kind, amount=t.amount) for t in data.tenders]
    problems = rules.tender_problems(requests, total, channel, method)
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
        if tender.kind == rules.TenderKind.LOYALTY_POINTS and tender.loyalty_card is None:
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


@dataclass
class NewOrder:
    """The order row as `open_order` wrote it; `finish_order` writes the rest."""

    values: dict[str, Any]
    tender_rows: list[dict[str, Any]]

    @property
    def id(self) -> uuid.UUID:
        order_id: uuid.UUID = self.values["id"]
        return order_id

    @property
    def number(self) -> str:
        return str(self.values["number"])

    @property
    def reservation_ref(self) -> str:
        return str(self.values["reservation_ref"])


async def open_order(
    session: AsyncSession,
    principal: Principal,
    draft: Draft,
    auths: Authorizations,
    *,
    order_id: uuid.UUID,
    points_references: Mapping[int, str],
) -> NewOrder:
    """The order transaction's first writes: the cart locked (it must still be open), the
    promotions redeemed, the order row with a fresh number. `points_references`: tender
    position -> the loyalty redemption that paid it (the flow redeemed them)."""
    now = clock.now()
    if draft.cart_id is not None:
        cart = await repository.cart(session, draft.cart_id, lock=True)
        if cart is None or cart.status != "open":
            raise CartNotOpen("the cart was ordered or closed meanwhile")
    quote = draft.quote.result
    if quote.discounts:
        await pricing.redeem(session, quote=draft.quote, order_id=order_id, customer_id=draft.customer_id)
    tender_rows = _tender_rows(draft, auths, order_id, points_references)
    status = rules.next_status(rules.Status.PLACED, rules.Action.RELEASE)
    values: dict[str, Any] = {
        "id": order_id,
        "status": status.value,
        "channel": draft.channel,
        "store_code": draft.store_code,
        "api_key_id": principal.key_id,
        "customer_id": draft.customer_id,
        "cart_id": draft.cart_id,
        "fulfillment": draft.fulfillment.value,
        "pickup_location_code": draft.pickup_location,
        "delivery_address": draft.address,
        "contact_email": (draft.contact or {}).get("email"),
        "contact_phone": (draft.contact or {}).get("phone"),
        "currency": draft.currency,
        "subtotal": quote.subtotal,
        "discount_total": quote.discount_total,
        "total": quote.total,
        "codes": [c.code for c in quote.codes if c.applied],
        "pricing": msgspec.to_builtins(
            {"discounts": quote.discounts, "codes": quote.codes, "delivery": quote.delivery, "zone": quote.zone}
        ),
        "reservation_ref": f"order:{order_id}",
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
    return NewOrder(values, tender_rows)


async def finish_order(
    session: AsyncSession,
    principal: Principal,
    draft: Draft,
    new: NewOrder,
    *,
    line_locations: Mapping[str, Sequence[tuple[str, int]]],
    summary: str,
) -> OrderOut:
    """The rest of the order in one statement: lines (each at the first location sourcing
    placed it: `line_locations[line no] = [(location, units)]`), tenders, timeline, events;
    the cart marked ordered."""
    order_id, quote = new.id, draft.quote.result
    status = new.values["status"]
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
            "location_code": line_locations[str(no)][0][0],
            "cancelled_quantity": 0,
            "fulfilled_quantity": 0,
        }
        for no, snap in enumerate(quote.lines, start=1)
    ]
    timeline = [
        timeline_row(order_id, "placed", principal, to_status="placed", detail={"location": summary}),
        timeline_row(order_id, "released", principal, from_status="placed", to_status=status),
    ]
    order = Order(**new.values)
    events = [
        event_row("order.placed", order, total=order.total, currency=order.currency, location=summary),
        event_row("order.released", order),
    ]
    await insert_rows(
        session,
        {OrderLine: line_rows, OrderTender: new.tender_rows, OrderTimelineEntry: timeline, OutboxEvent: events},
    )
    if draft.cart_id is not None:
        await repository.mark_cart_ordered(session, draft.cart_id, order_id, new.values["placed_at"])
    return order_out(
        order, [OrderLine(**row) for row in line_rows], [OrderTender(**row) for row in new.tender_rows], []
    )


def _tender_rows(
    draft: Draft, auths: Authorizations, order_id: uuid.UUID, points_references: Mapping[int, str]
) -> list[dict[str, Any]]:
    cards = {card.position: card for card in auths.cards}
    rows: list[dict[str, Any]] = []
    for position, tender in enumerate(draft.tenders):
        card = cards.get(position)
        reference = points_references.get(position)
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
