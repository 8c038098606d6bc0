"""Pieces every orders use case shares: the caller's channel, timeline rows, response shapes,
and the plain calls orders makes downward (pricing's quote in the right zone, inventory's
release, a location, the customer holding a card or phone)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal
from app.core.fulfillment_choice import FulfillmentOut
from app.customers import service as customers
from app.customers.errors import InvalidCardNumber, InvalidPhone
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound, ReservationNotFound
from app.inventory.schemas import LocationOut
from app.orders import rules
from app.orders.models import Order, OrderHold, OrderLine, OrderTender, OrderTimelineEntry
from app.orders.schemas import ContactOut, HoldOut, OrderLineOut, OrderOut, TenderIn, TenderOut
from app.pricing import service as pricing


def channel_of(principal: Principal) -> str | None:
    """The channel comes from the key, never from the body; staff keys have none."""
    return principal.channel.value if principal.channel else None


def timeline_row(
    order_id: uuid.UUID,
    kind: str,
    principal: Principal | None,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "kind": kind,
        "from_status": from_status,
        "to_status": to_status,
        "actor_key_id": principal.key_id if principal else None,
        "channel": channel_of(principal) if principal else None,
        "detail": detail or {},
        "at": clock.now(),
    }


def add_timeline(session: AsyncSession, order_id: uuid.UUID, kind: str, principal: Principal | None, **kw: Any) -> None:
    session.add(OrderTimelineEntry(**timeline_row(order_id, kind, principal, **kw)))


async def record_event(session: AsyncSession, type_: str, order: Order, **payload: Any) -> None:
    await outbox.record(
        session, type_, aggregate_type="order", aggregate_id=str(order.id), payload=_event_payload(order, payload)
    )


def event_row(type_: str, order: Order, **payload: Any) -> dict[str, Any]:
    """`record_event` as a row, for `insert_rows`."""
    return outbox.event_row(
        type_, aggregate_type="order", aggregate_id=str(order.id), payload=_event_payload(order, payload)
    )


def _event_payload(order: Order, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "number": order.number,
        "status": order.status,
        "channel": order.channel,
        "customer_id": str(order.customer_id) if order.customer_id else None,
        **payload,
    }


def line_out(line: OrderLine) -> OrderLineOut:
    return OrderLineOut(
        line_no=line.line_no,
        sku=line.sku,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        line_total=line.line_total,
        location_code=line.location_code,
        cancelled_quantity=line.cancelled_quantity,
        fulfilled_quantity=line.fulfilled_quantity,
        pricing=line.pricing,
    )


def tender_out(tender: OrderTender) -> TenderOut:
    return TenderOut(
        id=tender.id,
        kind=tender.kind,
        amount=tender.amount,
        provider=tender.provider,
        authorization_id=tender.authorization_id,
        captured=tender.captured,
        released=tender.released,
        refunded=tender.refunded,
    )


def hold_out(hold: OrderHold) -> HoldOut:
    return HoldOut(
        id=hold.id,
        type=hold.type,
        reason=hold.reason,
        placed_by=hold.placed_by,
        placed_channel=hold.placed_channel,
        placed_at=hold.placed_at,
        lifted_by=hold.lifted_by,
        lifted_at=hold.lifted_at,
        lift_note=hold.lift_note,
    )


def fulfillment_out(method: str, location: str | None, address: Mapping[str, Any] | None) -> FulfillmentOut:
    """The quote's and the order's answer alike: a saved address (stored with its `id`)
    is shown with its content and its id."""
    shown = {k: v for k, v in address.items() if k != "id"} if address is not None else None
    saved = address.get("id") if address is not None else None
    return FulfillmentOut(
        method=method, location=location, address=shown, address_id=uuid.UUID(saved) if saved else None
    )


def order_out(
    order: Order, lines: Sequence[OrderLine], tenders: Sequence[OrderTender], holds: Sequence[OrderHold]
) -> OrderOut:
    return OrderOut(
        id=order.id,
        number=order.number,
        status=order.status,
        channel=order.channel,
        store_code=order.store_code,
        customer_id=order.customer_id,
        cart_id=order.cart_id,
        fulfillment=fulfillment_out(order.fulfillment, order.pickup_location_code, order.delivery_address),
        contact=ContactOut(email=order.contact_email, phone=order.contact_phone)
        if order.contact_email or order.contact_phone
        else None,
        currency=order.currency,
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        total=order.total,
        codes=list(order.codes),
        lines=[line_out(line) for line in lines],
        tenders=[tender_out(t) for t in tenders],
        holds=[hold_out(h) for h in holds],
        placed_at=order.placed_at,
        updated_at=order.updated_at,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
    )


# ---- downward calls ------------------------------------------------------------------------


async def quote(
    session: AsyncSession,
    *,
    currency: str,
    lines: Mapping[str, int],
    codes: Sequence[str],
    customer_id: uuid.UUID | None,
    channel: str | None,
    store: str | None = None,
    address: Mapping[str, Any] | None = None,
    facts: pricing.CustomerFacts = pricing.GUEST,
    zone: str | None = None,
) -> pricing.Quote:
    """Price lines in one zone, by the one rule of the quote and the order alike: the
    explicit `zone`, else the pickup store's (`store`; a cart's: the kiosk or till it was
    filled at), else the delivery address's (the quote resolves that in its own statement:
    no round trip here), else `default` — never the placing key's store: a kiosk's order
    for home delivery is priced where the parcel goes, like its quote. The customer's facts
    the flow above read are used only if they are this customer's."""
    known = facts.of(customer_id)
    country = address.get("country") if address else None
    postal_code = address.get("postal_code") if address else None
    priced_in: str | pricing.ZoneAddress
    if zone is not None:
        priced_in = await pricing.resolve_zone(session, zone=zone)
    elif store is not None:
        found = await location_or_none(session, store)
        priced_in = (found.zone if found is not None else None) or pricing.DEFAULT_ZONE
    elif country:
        priced_in = pricing.ZoneAddress(country, postal_code or "")
    else:
        priced_in = pricing.DEFAULT_ZONE
    return await pricing.quote(
        session,
        pricing.QuoteInput(
            currency=currency,
            lines=tuple(pricing.QuoteLine(sku, qty) for sku, qty in lines.items()),
            zone=priced_in,
            codes=tuple(codes),
            customer_id=customer_id,
            loyalty_tier=known.loyalty_tier,
            first_order=known.first_order,
            channel=channel,
            home_delivery=address is not None,
        ),
    )


async def release_stock(
    session: AsyncSession, reference: str, lines: Sequence[tuple[str, str, int]] | None = None
) -> None:
    """Release (all, or some lines); a reference that never reserved anything is fine."""
    try:
        await inventory.release(session, reference=reference, lines=list(lines) if lines is not None else None)
    except ReservationNotFound:
        return


async def location_or_none(session: AsyncSession, code: str) -> LocationOut | None:
    try:
        return await inventory.get_location(session, code)
    except LocationNotFound:
        return None


async def customer_with(session: AsyncSession, *, card: str | None, phone: str | None) -> uuid.UUID | None:
    """The customer holding this loyalty card or phone; a malformed one identifies nobody."""
    try:
        found = await customers.find_customers(session, card=card, phone=phone)
    except (InvalidCardNumber, InvalidPhone):
        return None
    return found[0].id if found else None


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
    fulfillment: rules.Fulfillment
    pickup_location: str | None
    address: dict[str, Any] | None
    tenders: list[TenderIn]
    # Who to tell when it is ready: {"email", "phone"} as normalized (None: nobody named).
    contact: dict[str, str] | None = None

    def lines_to_source(self) -> list[tuple[str, str, int]]:
        """(line no as text, sku, quantity) of the order's lines, as sourcing takes them."""
        return [(str(no), snap.sku, snap.quantity) for no, snap in enumerate(self.quote.result.lines, start=1)]

    def points_tenders(self) -> list[tuple[int, str, int]]:
        """(position, loyalty card, amount) of the tenders paid in points."""
        return [
            (position, tender.loyalty_card or "", tender.amount)
            for position, tender in enumerate(self.tenders)
            if tender.kind == rules.TenderKind.LOYALTY_POINTS
        ]
