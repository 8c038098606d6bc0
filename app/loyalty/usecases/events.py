"""Events loyalty consumes: earning on delivered/collected fulfilment, opening an account for a new customer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers_service
from app.loyalty import repository, rules
from app.loyalty.errors import InvalidEarning
from app.loyalty.schemas import DeliveredOrder, Earning
from app.loyalty.usecases.accounts import open_account
from app.loyalty.usecases.common import EARNING_EVENTS
from app.loyalty.usecases.earning import earn


class _EarnLine(msgspec.Struct, forbid_unknown_fields=False):
    line_id: str
    net_paid_minor: int


class _EarnEvent(msgspec.Struct, forbid_unknown_fields=False):
    currency: str
    lines: list[_EarnLine]
    channel: str | None = None
    card_number: str | None = None
    customer_id: uuid.UUID | None = None
    order_id: str | None = None
    points_paid_minor: int = 0


class EarningEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An outbox event loyalty earns on (`EARNING_EVENTS`)."""

    type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]

    @property
    def needs_order(self) -> bool:
        """A fulfilment order's event (no `lines` of its own): what it handed over comes
        from orders and fulfilment (`DeliveredOrder`). A ship-to-store transfer is no sale."""
        return "lines" not in self.payload and self.payload.get("type") != "ship_to_store"


async def earning_event(session: AsyncSession, event_id: str) -> EarningEvent | None:
    """The outbox event `event_id` if loyalty earns on its type."""
    event = await repository.event_by_id(session, uuid.UUID(event_id))
    if event is None or event.type not in EARNING_EVENTS:
        return None
    return EarningEvent(
        type=event.type, aggregate_id=event.aggregate_id, occurred_at=event.occurred_at, payload=event.payload
    )


def _from_fulfilment(order: DeliveredOrder | None) -> _EarnEvent | None:
    if order is None or order.customer_id is None:
        return None
    lines, points_paid = rules.handed_over(
        order.order_id,
        order.lines,
        points_paid_minor=order.points_paid_minor,
        order_total_minor=order.order_total_minor,
    )
    if not lines:
        return None
    return _EarnEvent(
        currency=order.currency,
        lines=[_EarnLine(line_id=line_id, net_paid_minor=amount) for line_id, amount in lines],
        channel=order.channel,
        customer_id=order.customer_id,
        order_id=order.order_id,
        points_paid_minor=points_paid,
    )


async def earn_for_event(
    session: AsyncSession, event: EarningEvent, delivered: DeliveredOrder | None = None
) -> Earning | None:
    """Earn for a delivered/collected event; None if it earns nothing. The payload either
    carries the earning (`lines` with `net_paid_minor`, see above) or is a fulfilment order's
    event (`event.needs_order`), for which the caller hands in what it delivered
    (app/flows/earn_points.py)."""
    if "lines" in event.payload:
        try:
            data: _EarnEvent | None = msgspec.convert(event.payload, _EarnEvent)
        except msgspec.ValidationError as exc:
            raise InvalidEarning(f"event {event.aggregate_id}: {exc}") from None
    else:
        data = _from_fulfilment(delivered) if event.needs_order else None
    if data is None:
        return None
    card_number = data.card_number
    if card_number is None and data.customer_id is not None:
        card_number = (await customers_service.get_customer(session, data.customer_id)).card_number
    if card_number is None:
        return None  # a guest order: no card, no points
    return await earn(
        session,
        source_id=event.aggregate_id,
        event_type=event.type,
        card_number=card_number,
        channel=data.channel,
        lines=[(line.line_id, line.net_paid_minor) for line in data.lines],
        currency=data.currency,
        occurred_at=event.occurred_at,
        points_paid_minor=data.points_paid_minor,
        order_id=data.order_id,
    )


class _CustomerCreated(msgspec.Struct, forbid_unknown_fields=False):
    customer_id: uuid.UUID
    card_number: str


async def open_account_for_event(session: AsyncSession, event_id: str) -> None:
    event = await repository.event_by_id(session, uuid.UUID(event_id))
    if event is None or event.type != "customer.created":
        return
    data = msgspec.convert(event.payload, _CustomerCreated)
    if await customers_service.resolve_customer_id(session, data.customer_id) != data.customer_id:
        return  # merged away before the event arrived: its card already leads to the survivor's
    await open_account(session, card_number=data.card_number, customer_id=data.customer_id)
