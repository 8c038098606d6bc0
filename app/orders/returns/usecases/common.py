"""Pieces every returns use case shares: the order as returns see it (lines, delivered
units, windows, what each unit was paid), who may act on it, steps (timeline + event), shapes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock, money, outbox
from app.core.auth import Principal, Role
from app.customers import service as customers
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound
from app.orders import repository as orders_repository
from app.orders import rules as order_rules
from app.orders.models import Order, OrderLine
from app.orders.returns import repository, rules
from app.orders.returns.errors import (
    ImmediateOnlyAtStore,
    LocationDoesNotAcceptReturns,
    LocationRequired,
    OrderRequired,
    ReturnInvalidTransition,
    ReturnNotFound,
    ReturnOrderNotFound,
    UnknownLocation,
)
from app.orders.returns.models import Return
from app.orders.returns.schemas import (
    ExchangeOut,
    RefundOut,
    ReturnLineOut,
    ReturnOut,
)
from app.orders.usecases.common import add_timeline
from app.pricing import service as pricing
from app.pricing.errors import PromotionNotFound
from app.pricing.rules import Kind

# How many recent orders a customer look-up scans for returnable lines.
CUSTOMER_ORDERS_SCANNED = 20


_NUMBER_ATTEMPTS = 8


STORE_ROLES = frozenset({Role.POS, Role.KIOSK})


@dataclass(frozen=True)
class Delivered:
    """Units of an order line that reached the customer, and when the last of them did
    (fulfilment knows: the flows hand it in, app/flows/return_and_refund.py)."""

    quantity: int
    last_at: datetime | None


# order id -> order line no -> what reached the customer
DeliveredLines = Mapping[uuid.UUID, Mapping[int, Delivered]]


@dataclass
class OrderView:
    order: Order
    lines: dict[int, OrderLine]
    facts: dict[int, rules.LineFacts]
    values: dict[int, list[int]]  # what each unit was paid, cheapest first
    totals: dict[int, Any]  # running totals (returned, refunded units, refunded amount)
    products: dict[str, catalog.VariantFacts]


async def unit_values(session: AsyncSession, lines: Sequence[OrderLine]) -> dict[int, list[int]]:
    return (await _unit_values_by_order(session, lines)).get(lines[0].order_id, {}) if lines else {}


async def _unit_values_by_order(
    session: AsyncSession, lines: Sequence[OrderLine]
) -> dict[uuid.UUID, dict[int, list[int]]]:
    """What each unit was paid, cheapest first, for the lines of any number of orders (the
    promotions looked up once for all of them)."""
    promotion_ids = [d["promotion_id"] for ln in lines for d in (ln.pricing or {}).get("discounts", [])]
    rewards = await _reward_bp(session, promotion_ids)
    out: dict[uuid.UUID, dict[int, list[int]]] = {}
    for line in lines:
        discounts = [
            rules.LineDiscount(int(d["amount"]), rewards.get(str(d["promotion_id"])))
            for d in (line.pricing or {}).get("discounts", [])
        ]
        values = rules.unit_values(line.unit_price, line.quantity, discounts)
        if sum(values) != line.line_total:  # a snapshot that does not add up: spread the net evenly
            values = sorted(money.allocate(line.line_total, [1] * line.quantity, strict=False))
        out.setdefault(line.order_id, {})[line.line_no] = values
    return out


async def _reward_bp(session: AsyncSession, promotion_ids: Iterable[str]) -> dict[str, int]:
    """The buy-X-get-Y promotions among `promotion_ids` and their reward share (basis points):
    the refund arithmetic needs to know which discounts sit on rewarded units only."""
    out: dict[str, int] = {}
    for raw in sorted(set(promotion_ids)):
        try:
            promotion = await pricing.get_promotion(session, uuid.UUID(raw))
        except (PromotionNotFound, ValueError):
            continue
        if promotion.kind == Kind.BUY_X_GET_Y:
            out[raw] = int(promotion.reward_percent_bp)
    return out


async def order_view(session: AsyncSession, order: Order, delivered: DeliveredLines) -> OrderView:
    return (await order_views(session, [order], delivered))[0]


async def order_views(session: AsyncSession, orders: Sequence[Order], delivered: DeliveredLines) -> list[OrderView]:
    """The views of `orders`, in their order, with a fixed number of statements whatever their
    number (a customer's look-up scans up to CUSTOMER_ORDERS_SCANNED orders). `delivered`:
    what reached the customer of each order."""
    ids = [order.id for order in orders]
    lines_of = await orders_repository.lines_of_orders(session, ids)
    all_lines = [ln for order_id in ids for ln in lines_of.get(order_id, [])]
    products = await catalog.variant_facts(session, {ln.sku for ln in all_lines})
    codes = sorted({code for p in products.values() for code in p.category_path})
    policies = await repository.policies_for(session, codes)
    totals = await repository.line_totals(session, ids)
    values = await _unit_values_by_order(session, all_lines)
    views: list[OrderView] = []
    for order in orders:
        lines = {ln.line_no: ln for ln in lines_of.get(order.id, [])}
        order_totals = {no: totals[(order.id, no)] for no in lines if (order.id, no) in totals}
        facts = {
            no: _line_facts(line, delivered.get(order.id, {}), order_totals, products, policies)
            for no, line in lines.items()
        }
        views.append(OrderView(order, lines, facts, values.get(order.id, {}), order_totals, products))
    return views


def _line_facts(
    line: OrderLine,
    delivered: Mapping[int, Delivered],
    totals: dict[int, Any],
    products: dict[str, catalog.VariantFacts],
    policies: dict[str, int],
) -> rules.LineFacts:
    no = line.line_no
    product = products.get(line.sku)
    got = delivered.get(no, Delivered(0, None))
    total = totals.get(no)
    return rules.LineFacts(
        line_no=no,
        quantity=line.quantity,
        cancelled=line.cancelled_quantity,
        delivered=min(got.quantity, line.quantity - line.cancelled_quantity),
        returned=total.returned_quantity if total else 0,
        delivered_at=got.last_at,
        returnable_product=product.returnable if product else True,
        window_days=rules.window_days(product.category_path if product else (), policies),
    )


def refund_state(view: OrderView, no: int) -> rules.LineRefundState:
    line, total = view.lines[no], view.totals.get(no)
    return rules.LineRefundState(
        line_total=line.line_total,
        quantity=line.quantity,
        cancelled=line.cancelled_quantity,
        refunded_units=total.refunded_quantity if total else 0,
        refunded_amount=total.refunded_amount if total else 0,
    )


async def check_access(session: AsyncSession, principal: Principal, order: Order, token: str | None) -> None:
    """Returns are accepted anywhere: staff, the contact center, kiosks and tills see every
    order; a storefront key its customer's orders (with the token) or its own guest orders."""
    if principal.role in (Role.ADMIN, Role.CONTACT_CENTER, Role.POS, Role.KIOSK):
        return
    if principal.role == Role.STOREFRONT:
        if order.customer_id is not None:
            await customers.authorize_customer_access(session, principal, order.customer_id, token)
            return
        if order.api_key_id == principal.key_id:
            return
    raise ReturnOrderNotFound(f"no order {order.id}")


async def find_order(
    session: AsyncSession,
    principal: Principal,
    order_id: uuid.UUID | None,
    order_number: str | None,
    token: str | None,
    *,
    lock: bool,
) -> Order:
    if (order_id is None) == (order_number is None):
        raise OrderRequired("send order_id or order_number")
    if order_id is None:
        assert order_number is not None
        order_id = await orders_repository.order_id_by_number(session, order_rules.normalize_order_number(order_number))
        if order_id is None:
            raise ReturnOrderNotFound(f"no order {order_number}")
    # The order row is every return writer's first lock: refunds, cancellations and returns
    # of one order are serialized, and nobody waits for locks in another order.
    order = await orders_repository.order(session, order_id, lock=lock)
    if order is None:
        raise ReturnOrderNotFound(f"no order {order_id}")
    await check_access(session, principal, order, token)
    return order


def store_of(principal: Principal, named: str | None, *, roles: frozenset[Role] = STORE_ROLES) -> str:
    """Where goods come back: a location-bound key's own location; an admin names it."""
    if principal.location_code is not None and principal.role in roles:
        principal.require_location(named or principal.location_code)
        return principal.location_code
    if principal.role == Role.ADMIN:
        if named is None:
            raise LocationRequired("name the location_code where the goods are", field="location_code")
        return named
    raise ImmediateOnlyAtStore("goods come back at a store's till or a receiving location")


async def accepting(session: AsyncSession, code: str) -> str:
    try:
        location = await inventory.get_location(session, code)
    except LocationNotFound:
        raise UnknownLocation(f"no location {code}", field="location_code") from None
    if not location.accepts_returns or not getattr(location, "active", True):
        raise LocationDoesNotAcceptReturns(f"{code} does not accept returns", location=code)
    return str(location.code)


def move(ret: Return, action: rules.Action) -> str:
    before = ret.status
    try:
        after = rules.next_status(rules.Status(before), action)
    except rules.TransitionRefused as exc:
        raise ReturnInvalidTransition(
            str(exc),
            from_status=before,
            action=action.value,
            allowed=rules.allowed_actions(rules.Status(before)),
        ) from None
    ret.status, ret.updated_at = after.value, clock.now()
    return before


async def step(
    session: AsyncSession, principal: Principal | None, ret: Return, step: str, before: str | None, **detail: Any
) -> None:
    """Every step: a row on the order's timeline (the contact center's view) and an event."""
    facts = {"return_id": str(ret.id), "return_number": ret.number, **detail}
    add_timeline(
        session, ret.order_id, f"return_{step}", principal, from_status=before, to_status=ret.status, detail=facts
    )
    await outbox.record(
        session,
        f"return.{step}",
        aggregate_type="return",
        aggregate_id=str(ret.id),
        payload={
            "order_id": str(ret.order_id),
            "order_number": ret.order_number,
            "status": ret.status,
            "mode": ret.mode,
            "location": ret.location_code,
            "currency": ret.currency,
            **facts,
        },
    )


async def load(session: AsyncSession, principal: Principal, return_id: uuid.UUID) -> tuple[Order, Return]:
    """Lock the order, then the return (the lock order of every return writer)."""
    peek = await repository.get_return(session, return_id)
    if peek is None:
        raise ReturnNotFound(f"no return {return_id}")
    order = await find_order(session, principal, peek.order_id, None, None, lock=True)
    ret = await repository.get_return(session, return_id, lock=True)
    assert ret is not None
    return order, ret


async def return_out(session: AsyncSession, ret: Return) -> ReturnOut:
    await session.flush()
    lines = await repository.lines_of(session, ret.id)
    refunds = await repository.refunds_of(session, ret.id)
    exchange = await repository.exchange_of(session, ret.id)
    return ReturnOut(
        id=ret.id,
        number=ret.number,
        order_id=ret.order_id,
        order_number=ret.order_number,
        mode=ret.mode,
        status=ret.status,
        channel=ret.channel,
        location_code=ret.location_code,
        reason=ret.reason,
        override_reason=ret.override_reason,
        currency=ret.currency,
        lines=[
            ReturnLineOut(
                line_no=ln.line_no,
                sku=ln.sku,
                quantity=ln.quantity,
                restocked=ln.restocked,
                damaged=ln.damaged,
                refund_amount=ln.refund_amount,
                overridden=ln.overridden,
            )
            for ln in lines
        ],
        refunds=[
            RefundOut(id=r.id, tender_id=r.tender_id, kind=r.kind, amount=r.amount, status=r.status) for r in refunds
        ],
        refund_total=ret.refund_total,
        delivery_refund=ret.delivery_refund,
        points_reversed=ret.points_reversed,
        points_shortfall=ret.points_shortfall,
        exchange=(
            ExchangeOut(
                sku=exchange.sku,
                quantity=exchange.quantity,
                credit=exchange.credit,
                new_price=exchange.new_price,
                even=exchange.even,
                difference=exchange.difference,
                paid_by=exchange.paid_by,
            )
            if exchange
            else None
        ),
        allowed_actions=rules.allowed_actions(rules.Status(ret.status)),
        created_at=ret.created_at,
        updated_at=ret.updated_at,
        received_at=ret.received_at,
        refunded_at=ret.refunded_at,
        closed_at=ret.closed_at,
    )
