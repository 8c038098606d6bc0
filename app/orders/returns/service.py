"""Returns and exchanges: in any channel, at any store, whatever channel the order came from.

Public functions (other domains call only these; none commits):

Finding the purchase
- `returnable(session, principal, order_id, token=None) -> ReturnableOut`: every line of the
  order with what was delivered, returned, may still come back, what the next unit (and all
  of them) would refund, the window, and the reason code when it cannot come back.
- `customer_returnable_lines(session, principal, customer_id, token=None) -> CustomerReturnableOut`:
  the returnable lines of the customer's recent orders (a card or phone look-up at a till:
  find the customer through customers' `find_customers`, then this).

Returns (states: requested -> authorized -> received -> refunded; closed / rejected)
- `create_return(session, principal, data: ReturnCreate, token=None) -> ReturnOut`:
  `authorization` (the customer posts it back) or `immediate` (at a store's till: received
  with each line's disposition and refunded in the same transaction).
- `get_return(session, principal, return_id, token=None) -> ReturnOut`
- `receive(session, principal, return_id, data: ReceiveBody) -> ReturnOut`: at the location
  where the goods arrive (it must accept returns): `restock` -> a `return_restock` row there;
  `damaged` -> `return_restock` + `damage` rows (written off, never available).
- `refund(session, principal, return_id) -> ReturnOut`: exactly what was paid for the
  units (rules.py), loyalty points of the lines reversed first (a spent-points shortfall is
  deducted), then the money back to the original tenders; cards at the gateway after
  commit (`returns.settle_refunds`).
- `close(session, principal, return_id, action, reason) -> ReturnOut`: `close` or `reject`
  before any goods came back; the units may be returned again.
- `create_exchange(session, principal, data: ExchangeCreate) -> ReturnOut`
- `set_policy(session, category_code, days) -> PolicyOut`, `list_policies(...)`: return
  windows per category (longest-prefix match on the product's category path; default 30).
- Jobs: `settle_refunds(sessionmaker, return_id) -> int` (gateway calls, no transaction
  open during them), `pending_refund_returns(session, limit) -> list[UUID]`.

Events (aggregate `return`): `return.requested`, `return.authorized`, `return.received`,
`return.refunded`, `return.closed`, `return.rejected`, `return.exchanged`; every step is
also on the order's timeline (`return_<step>`), where the contact center reads it.

Loyalty: the reversal uses `return:<return id>` / `return.refunded` and the order line ids
`<order id>:<line no>` — the ids the delivered/collected earning must use for its lines.
Delivered quantities and times come from fulfilment's `order_fulfilment` (delivery FOs
whose parcels all arrived, pickup FOs collected).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock, outbox
from app.core.auth import Principal, Role
from app.core.db import transaction
from app.core.pagination import Page, decode_cursor, page_of
from app.orders import repository as orders_repository
from app.orders import rules as order_rules
from app.orders.models import Order, OrderLine, OrderTender
from app.orders.payments import registry
from app.orders.returns import neighbours, repository, rules
from app.orders.returns.errors import (
    DuplicateLine,
    ExceedsPurchase,
    ExchangePaymentRequired,
    ExchangeStockShort,
    ImmediateOnlyAtStore,
    LocationDoesNotAcceptReturns,
    LocationRequired,
    NotEligible,
    OrderRequired,
    ReceiptMismatch,
    ReturnInvalidTransition,
    ReturnNotFound,
    ReturnOrderNotFound,
    ReturnRace,
    UnknownLocation,
    UnknownOrderLine,
    UnknownSku,
)
from app.orders.returns.models import Return, ReturnLine
from app.orders.returns.schemas import (
    CustomerReturnableOut,
    ExchangeCreate,
    ExchangeOut,
    PolicyOut,
    ReceiveBody,
    RefundOut,
    ReturnableLineOut,
    ReturnableOut,
    ReturnCreate,
    ReturnLineIn,
    ReturnLineOut,
    ReturnOut,
)
from app.orders.usecases.common import add_timeline, channel_of
from app.orders.usecases.placement import points_restore

# The retailer's rule: refund delivery when every unit of the order came back.
REFUND_DELIVERY = (os.environ.get("OMS_RETURNS_REFUND_DELIVERY") or "false").lower() in ("1", "true", "yes")
# How many recent orders a customer look-up scans for returnable lines.
CUSTOMER_ORDERS_SCANNED = 20
_NUMBER_ATTEMPTS = 8
STORE_ROLES = frozenset({Role.POS, Role.KIOSK})


# ---- the order as returns see it ---------------------------------------------------------


@dataclass
class OrderView:
    order: Order
    lines: dict[int, OrderLine]
    facts: dict[int, rules.LineFacts]
    values: dict[int, list[int]]  # what each unit was paid, cheapest first
    totals: dict[int, Any]  # running totals (returned, refunded units, refunded amount)
    products: dict[str, neighbours.ProductFacts]


async def _unit_values(session: AsyncSession, lines: Sequence[OrderLine]) -> dict[int, list[int]]:
    promotion_ids = [d["promotion_id"] for ln in lines for d in (ln.pricing or {}).get("discounts", [])]
    rewards = await neighbours.reward_bp(session, promotion_ids)
    out: dict[int, list[int]] = {}
    for line in lines:
        discounts = [
            rules.LineDiscount(int(d["amount"]), rewards.get(str(d["promotion_id"])))
            for d in (line.pricing or {}).get("discounts", [])
        ]
        values = rules.unit_values(line.unit_price, line.quantity, discounts)
        if sum(values) != line.line_total:  # a snapshot that does not add up: spread the net evenly
            values = sorted(rules.allocate(line.line_total, [1] * line.quantity))
        out[line.line_no] = values
    return out


async def _view(session: AsyncSession, order: Order) -> OrderView:
    lines = {ln.line_no: ln for ln in await orders_repository.order_lines(session, order.id)}
    delivered = await neighbours.delivered_lines(session, order.id)
    products = await neighbours.product_facts(session, {ln.sku for ln in lines.values()})
    codes = sorted({code for p in products.values() for code in p.category_path})
    policies = await repository.policies_for(session, codes)
    totals = {no: row for (_, no), row in (await repository.line_totals(session, [order.id])).items()}
    facts: dict[int, rules.LineFacts] = {}
    for no, line in lines.items():
        product = products.get(line.sku)
        got = delivered.get(no, neighbours.Delivered(0, None))
        total = totals.get(no)
        facts[no] = rules.LineFacts(
            line_no=no,
            quantity=line.quantity,
            cancelled=line.cancelled_quantity,
            delivered=min(got.quantity, line.quantity - line.cancelled_quantity),
            returned=total.returned_quantity if total else 0,
            delivered_at=got.last_at,
            returnable_product=product.returnable if product else True,
            window_days=rules.window_days(product.category_path if product else (), policies),
        )
    values = await _unit_values(session, list(lines.values()))
    return OrderView(order, lines, facts, values, totals, products)


def _refund_state(view: OrderView, no: int) -> rules.LineRefundState:
    line, total = view.lines[no], view.totals.get(no)
    return rules.LineRefundState(
        line_total=line.line_total,
        quantity=line.quantity,
        cancelled=line.cancelled_quantity,
        refunded_units=total.refunded_quantity if total else 0,
        refunded_amount=total.refunded_amount if total else 0,
    )


def _returnable_line(view: OrderView, no: int) -> ReturnableLineOut:
    facts, line = view.facts[no], view.lines[no]
    now = clock.now()
    open_units = facts.open_quantity
    reason = rules.line_reason(facts, now, max(open_units, 1))
    # Units in returns not refunded yet will refund before these: count from after them.
    state = _refund_state(view, no)
    pending = facts.returned - state.refunded_units
    ahead = rules.LineRefundState(
        line_total=state.line_total,
        quantity=state.quantity,
        cancelled=state.cancelled,
        refunded_units=state.refunded_units + pending,
        refunded_amount=state.refunded_amount
        + (rules.line_refund(view.values[no], state, pending) if pending else 0),
    )
    return ReturnableLineOut(
        order_id=view.order.id,
        order_number=view.order.number,
        line_no=no,
        sku=line.sku,
        quantity=line.quantity,
        cancelled=line.cancelled_quantity,
        delivered=facts.delivered,
        returned=facts.returned,
        returnable_quantity=open_units if reason is None else 0,
        next_unit_refund=rules.line_refund(view.values[no], ahead, 1) if open_units else 0,
        refundable_amount=rules.line_refund(view.values[no], ahead, open_units) if open_units else 0,
        delivered_at=facts.delivered_at,
        window_closes_at=(
            rules.window_closes_at(facts.delivered_at, facts.window_days) if facts.delivered_at else None
        ),
        eligible=reason is None,
        reason=reason.value if reason else None,
    )


# ---- access -------------------------------------------------------------------------------


async def _check_access(session: AsyncSession, principal: Principal, order: Order, token: str | None) -> None:
    """Returns are accepted anywhere: staff, the contact center, kiosks and tills see every
    order; a storefront key its customer's orders (with the token) or its own guest orders."""
    if principal.role in (Role.ADMIN, Role.CONTACT_CENTER, Role.POS, Role.KIOSK):
        return
    if principal.role == Role.STOREFRONT:
        if order.customer_id is not None:
            await neighbours.authorize_customer(session, principal, order.customer_id, token)
            return
        if order.api_key_id == principal.key_id:
            return
    raise ReturnOrderNotFound(f"no order {order.id}")


async def _find_order(
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
    await _check_access(session, principal, order, token)
    return order


def _store_of(principal: Principal, named: str | None, *, roles: frozenset[Role] = STORE_ROLES) -> str:
    """Where goods come back: a location-bound key's own location; an admin names it."""
    if principal.location_code is not None and principal.role in roles:
        principal.require_location(named or principal.location_code)
        return principal.location_code
    if principal.role == Role.ADMIN:
        if named is None:
            raise LocationRequired("name the location_code where the goods are", field="location_code")
        return named
    raise ImmediateOnlyAtStore("goods come back at a store's till or a receiving location")


async def _accepting(session: AsyncSession, code: str) -> str:
    location = await neighbours.location(session, code)
    if location is None:
        raise UnknownLocation(f"no location {code}", field="location_code")
    if not location.accepts_returns or not getattr(location, "active", True):
        raise LocationDoesNotAcceptReturns(f"{code} does not accept returns", location=code)
    return str(location.code)


# ---- finding the purchase -----------------------------------------------------------------


async def returnable(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, token: str | None = None
) -> ReturnableOut:
    order = await _find_order(session, principal, order_id, None, token, lock=False)
    view = await _view(session, order)
    return ReturnableOut(
        order_id=order.id,
        order_number=order.number,
        channel=order.channel,
        currency=order.currency,
        lines=[_returnable_line(view, no) for no in sorted(view.lines)],
    )


async def customer_returnable_lines(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None = None
) -> CustomerReturnableOut:
    """Lines of the customer's recent orders that were delivered and not returned yet (with
    the reason when one of them cannot come back any more)."""
    survivor = await neighbours.survivor_of(session, customer_id)
    if survivor is None:
        raise ReturnOrderNotFound(f"no customer {customer_id}", code="customer_not_found")
    await neighbours.authorize_customer(session, principal, survivor, token)
    rows = await orders_repository.list_orders(
        session,
        customer_ids=[survivor],
        channel=None,
        status=None,
        store=None,
        placed_from=None,
        placed_to=None,
        after=None,
        limit=CUSTOMER_ORDERS_SCANNED,
    )
    lines: list[ReturnableLineOut] = []
    for row in list(rows)[:CUSTOMER_ORDERS_SCANNED]:
        order = await orders_repository.order(session, row.id)
        if order is None or order.status == "cancelled":
            continue
        view = await _view(session, order)
        lines.extend(
            _returnable_line(view, no) for no in sorted(view.lines) if view.facts[no].open_quantity > 0
        )
    return CustomerReturnableOut(customer_id=survivor, lines=lines)


# ---- creating a return --------------------------------------------------------------------


def _wanted(view: OrderView, lines: Sequence[ReturnLineIn]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for line in lines:
        if line.line_no not in view.lines:
            raise UnknownOrderLine(f"order {view.order.number} has no line {line.line_no}", line_no=line.line_no)
        if line.line_no in wanted:
            raise DuplicateLine(f"line {line.line_no} appears twice", line_no=line.line_no)
        if rules.exceeds_purchase(view.facts[line.line_no], line.quantity):
            facts = view.facts[line.line_no]
            raise ExceedsPurchase(
                f"line {line.line_no}: {line.quantity} units asked, {facts.quantity - facts.cancelled} bought",
                line_no=line.line_no,
                bought=facts.quantity - facts.cancelled,
            )
        wanted[line.line_no] = line.quantity
    return wanted


def _eligibility(view: OrderView, wanted: dict[int, int], principal: Principal, override: str | None) -> dict[int, str]:
    """The overridden reason per line; raises NotEligible for anything not overridden."""
    if override is not None and principal.role != Role.ADMIN:
        raise PermissionDeniedException(detail="only an admin key may override return eligibility")
    now = clock.now()
    problems = {no: reason for no, qty in sorted(wanted.items()) if (reason := rules.line_reason(view.facts[no], now, qty))}
    blocking = {no: r for no, r in problems.items() if override is None or r not in rules.OVERRIDABLE}
    if blocking:
        first = next(iter(blocking.values()))
        raise NotEligible(
            "; ".join(f"line {no}: {r.value}" for no, r in blocking.items()),
            code=first.value,
            lines=[{"line_no": no, "reason": r.value} for no, r in blocking.items()],
        )
    return {no: r.value for no, r in problems.items()}


async def _take(session: AsyncSession, view: OrderView, wanted: dict[int, int]) -> None:
    for no, qty in sorted(wanted.items()):
        if not await repository.take_units(session, view.order.id, no, qty, view.facts[no].delivered):
            raise ReturnRace(f"line {no}: the units were returned meanwhile", line_no=no)


async def _open(
    session: AsyncSession,
    principal: Principal,
    view: OrderView,
    wanted: dict[int, int],
    *,
    mode: rules.Mode,
    reason: str,
    override: str | None,
    overridden: dict[int, str],
) -> Return:
    """Write the return (requested, then authorized: every line passed eligibility)."""
    order, now = view.order, clock.now()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "order_id": order.id,
        "order_number": order.number,
        "mode": mode.value,
        "status": rules.Status.REQUESTED.value,
        "channel": channel_of(principal),
        "api_key_id": principal.key_id,
        "location_code": None,
        "reason": reason,
        "override_reason": override,
        "override_by": principal.key_id if override else None,
        "currency": order.currency,
        "created_at": now,
        "updated_at": now,
    }
    for _ in range(_NUMBER_ATTEMPTS):
        values["number"] = rules.new_return_number()
        if await repository.insert_return(session, values):
            break
    else:  # pragma: no cover - 32^8 numbers
        raise RuntimeError("could not draw a free return number")
    await repository.insert_lines(
        session,
        [
            {
                "return_id": values["id"],
                "line_no": no,
                "sku": view.lines[no].sku,
                "quantity": qty,
                "overridden": overridden.get(no),
            }
            for no, qty in sorted(wanted.items())
        ],
    )
    ret = await repository.get_return(session, values["id"])
    assert ret is not None
    lines = [{"line_no": no, "sku": view.lines[no].sku, "quantity": q} for no, q in sorted(wanted.items())]
    await _step(session, principal, ret, "requested", None, lines=lines, reason=reason, override_reason=override)
    _move(ret, rules.Action.AUTHORIZE)
    await _step(session, principal, ret, "authorized", rules.Status.REQUESTED.value)
    return ret


async def create_return(
    session: AsyncSession, principal: Principal, data: ReturnCreate, token: str | None = None
) -> ReturnOut:
    store = None
    if data.mode == rules.Mode.IMMEDIATE:
        store = await _accepting(session, _store_of(principal, data.location_code))
        missing = [line.line_no for line in data.lines if line.disposition is None]
        if missing:
            raise ReceiptMismatch("an immediate return names each line's disposition", lines=missing)
    order = await _find_order(session, principal, data.order_id, data.order_number, token, lock=True)
    view = await _view(session, order)
    wanted = _wanted(view, data.lines)
    overridden = _eligibility(view, wanted, principal, data.override_reason)
    await _take(session, view, wanted)
    ret = await _open(
        session,
        principal,
        view,
        wanted,
        mode=data.mode,
        reason=data.reason,
        override=data.override_reason,
        overridden=overridden,
    )
    if store is not None:
        dispositions = [(ln.line_no, ln.quantity, rules.Disposition(ln.disposition or "restock")) for ln in data.lines]
        await _receive(session, principal, order, ret, store, dispositions)
        await _refund(session, principal, order, ret)
    return await _out(session, ret)


# ---- steps --------------------------------------------------------------------------------


def _move(ret: Return, action: rules.Action) -> str:
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


async def _step(
    session: AsyncSession, principal: Principal | None, ret: Return, step: str, before: str | None, **detail: Any
) -> None:
    """Every step: a row on the order's timeline (the contact center's view) and an event."""
    facts = {"return_id": str(ret.id), "return_number": ret.number, **detail}
    add_timeline(session, ret.order_id, f"return_{step}", principal, from_status=before, to_status=ret.status, detail=facts)
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


async def _load(session: AsyncSession, principal: Principal, return_id: uuid.UUID) -> tuple[Order, Return]:
    """Lock the order, then the return (the lock order of every return writer)."""
    peek = await repository.get_return(session, return_id)
    if peek is None:
        raise ReturnNotFound(f"no return {return_id}")
    order = await _find_order(session, principal, peek.order_id, None, None, lock=True)
    ret = await repository.get_return(session, return_id, lock=True)
    assert ret is not None
    return order, ret


async def get_return(
    session: AsyncSession, principal: Principal, return_id: uuid.UUID, token: str | None = None
) -> ReturnOut:
    ret = await repository.get_return(session, return_id)
    if ret is None:
        raise ReturnNotFound(f"no return {return_id}")
    order = await orders_repository.order(session, ret.order_id)
    assert order is not None
    if principal.role == Role.LOGISTICS:
        if ret.location_code != principal.location_code:
            raise ReturnNotFound(f"no return {return_id}")
    else:
        try:
            await _check_access(session, principal, order, token)
        except ReturnOrderNotFound:
            raise ReturnNotFound(f"no return {return_id}") from None
    return await _out(session, ret)


async def receive(session: AsyncSession, principal: Principal, return_id: uuid.UUID, data: ReceiveBody) -> ReturnOut:
    store = await _accepting(
        session, _store_of(principal, data.location_code, roles=frozenset({Role.POS, Role.LOGISTICS}))
    )
    order, ret = await _load(session, principal, return_id)
    await _receive(
        session, principal, order, ret, store, [(ln.line_no, ln.quantity, ln.disposition) for ln in data.lines]
    )
    return await _out(session, ret)


async def _receive(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    ret: Return,
    store: str,
    dispositions: Sequence[tuple[int, int, rules.Disposition]],
) -> None:
    before = _move(ret, rules.Action.RECEIVE)
    lines = {ln.line_no: ln for ln in await repository.lines_of(session, ret.id)}
    got: dict[int, dict[rules.Disposition, int]] = {}
    for no, qty, disposition in dispositions:
        if no not in lines:
            raise ReceiptMismatch(f"return {ret.number} has no line {no}", line_no=no)
        per = got.setdefault(no, {})
        per[disposition] = per.get(disposition, 0) + qty
    wrong = [no for no, ln in lines.items() if sum(got.get(no, {}).values()) != ln.quantity]
    if wrong:
        raise ReceiptMismatch(
            "dispositions must add up to each line's returned quantity",
            lines=[{"line_no": no, "expected": lines[no].quantity, "got": sum(got.get(no, {}).values())} for no in wrong],
        )
    reference = f"return:{ret.number}"
    for no in sorted(lines):
        line = lines[no]
        line.restocked = got[no].get(rules.Disposition.RESTOCK, 0)
        line.damaged = got[no].get(rules.Disposition.DAMAGED, 0)
        if line.restocked:
            await neighbours.restock(session, line.sku, store, line.restocked, reference, principal.key_id)
        if line.damaged:
            await neighbours.write_off(session, line.sku, store, line.damaged, reference, principal.key_id)
    ret.location_code, ret.received_at = store, clock.now()
    await session.flush()
    await _step(
        session,
        principal,
        ret,
        "received",
        before,
        lines=[{"line_no": ln.line_no, "restocked": ln.restocked, "damaged": ln.damaged} for ln in lines.values()],
    )


async def refund(session: AsyncSession, principal: Principal, return_id: uuid.UUID) -> ReturnOut:
    order, ret = await _load(session, principal, return_id)
    if principal.location_code is not None and ret.location_code is not None:
        principal.require_location(ret.location_code)
    await _refund(session, principal, order, ret)
    return await _out(session, ret)


async def _value_lines(
    session: AsyncSession, order: Order, ret: Return
) -> tuple[list[ReturnLine], dict[int, OrderLine], dict[int, Any]]:
    """Price every line of the return and add it to the order's running totals."""
    order_lines = {ln.line_no: ln for ln in await orders_repository.order_lines(session, order.id)}
    totals = await repository.lock_line_totals(session, order.id)
    values = await _unit_values(session, list(order_lines.values()))
    lines = await repository.lines_of(session, ret.id)
    for line in lines:
        ol, total = order_lines[line.line_no], totals[line.line_no]
        state = rules.LineRefundState(
            line_total=ol.line_total,
            quantity=ol.quantity,
            cancelled=ol.cancelled_quantity,
            refunded_units=total.refunded_quantity,
            refunded_amount=total.refunded_amount,
        )
        line.refund_amount = rules.line_refund(values[line.line_no], state, line.quantity)
        total.refunded_quantity += line.quantity
        total.refunded_amount += line.refund_amount
    return lines, order_lines, totals


async def _refund(session: AsyncSession, principal: Principal, order: Order, ret: Return) -> None:
    before = _move(ret, rules.Action.REFUND)
    lines, order_lines, totals = await _value_lines(session, order, ret)
    goods = sum(line.refund_amount for line in lines)
    back = rules.everything_back(
        (ol.quantity, ol.cancelled_quantity, totals[no].refunded_quantity if no in totals else 0)
        for no, ol in order_lines.items()
    )
    delivery = int((order.pricing or {}).get("delivery", 0)) if (REFUND_DELIVERY and back) else 0
    await _pay_back(session, principal, order, ret, [(ln.line_no, ln.refund_amount) for ln in lines], goods, delivery)
    await _step(
        session,
        principal,
        ret,
        "refunded",
        before,
        amount=ret.refund_total,
        delivery=delivery,
        points_reversed=ret.points_reversed,
        lines=[{"line_no": ln.line_no, "quantity": ln.quantity, "amount": ln.refund_amount} for ln in lines],
    )


async def _pay_back(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    ret: Return,
    refunded: Sequence[tuple[int, int]],
    money: int,
    delivery: int,
) -> None:
    """Reverse the points of the refunded (line_no, amount), then spread `money + delivery -
    shortfall` over the original tenders (rules.REFUND_ORDER). Cards are refunded at the
    gateway after commit."""
    reversal = [(f"{order.id}:{no}", amount) for no, amount in refunded if amount > 0]
    reversed_points, shortfall = await neighbours.reverse_points(session, ret.id, reversal, channel_of(principal))
    shortfall = min(shortfall, money)
    amount = money + delivery - shortfall
    tenders = {t.id: t for t in await orders_repository.tenders(session, order.id)}
    balances = [
        rules.TenderBalance(id=t.id, kind=t.kind, position=t.position, refundable=t.captured - t.refunded)
        for t in tenders.values()
    ]
    now, rows, restore = clock.now(), [], points_restore()
    for tender_id, share in rules.allocate_refund(balances, amount):
        tender: OrderTender = tenders[tender_id]  # type: ignore[index]
        tender.refunded += share
        if tender.kind == "loyalty_points" and restore is not None and tender.reference:
            await restore(session, tender.reference, share)
        rows.append(
            {
                "id": uuid.uuid4(),
                "return_id": ret.id,
                "order_id": order.id,
                "tender_id": tender.id,
                "kind": tender.kind,
                "amount": share,
                # Cash goes back at the till, points to the card, now; cards at the gateway.
                "status": "pending" if tender.kind == "card" else "done",
                "created_at": now,
                "settled_at": None if tender.kind == "card" else now,
            }
        )
    await session.flush()
    await repository.insert_refunds(session, rows)
    ret.refund_total = sum(r["amount"] for r in rows)
    ret.delivery_refund, ret.points_shortfall, ret.points_reversed = delivery, shortfall, reversed_points
    ret.refunded_at = now
    if any(r["status"] == "pending" for r in rows):
        from app.core.broker import enqueue_after_commit
        from app.orders.returns.jobs import settle_refunds as settle_job

        enqueue_after_commit(session, settle_job, str(ret.id))


async def close(
    session: AsyncSession, principal: Principal, return_id: uuid.UUID, action: rules.Action, reason: str
) -> ReturnOut:
    """Close (the customer withdrew it, it never came) or reject (staff refuse it) a return
    whose goods have not come back: its units may be returned again."""
    order, ret = await _load(session, principal, return_id)
    before = _move(ret, action)
    lines = await repository.lines_of(session, ret.id)
    await repository.give_back_units(session, order.id, [(ln.line_no, ln.quantity) for ln in lines])
    ret.closed_at, ret.note = clock.now(), reason
    await _step(session, principal, ret, ret.status, before, reason=reason)
    return await _out(session, ret)


# ---- exchanges ----------------------------------------------------------------------------


async def create_exchange(session: AsyncSession, principal: Principal, data: ExchangeCreate) -> ReturnOut:
    """Return units of a line and hand over `new_sku` at once, at a store's till."""
    store = await _accepting(session, _store_of(principal, data.location_code))
    order = await _find_order(session, principal, data.order_id, data.order_number, None, lock=True)
    view = await _view(session, order)
    wanted = _wanted(view, [ReturnLineIn(line_no=data.line_no, quantity=data.quantity)])
    overridden = _eligibility(view, wanted, principal, data.override_reason)
    new = (await neighbours.product_facts(session, [data.new_sku])).get(data.new_sku)
    if new is None:
        raise UnknownSku(f"no variant {data.new_sku}", field="new_sku")
    await _take(session, view, wanted)
    ret = await _open(
        session,
        principal,
        view,
        wanted,
        mode=rules.Mode.IMMEDIATE,
        reason=data.reason,
        override=data.override_reason,
        overridden=overridden,
    )
    await _receive(session, principal, order, ret, store, [(data.line_no, data.quantity, data.disposition)])
    before = _move(ret, rules.Action.REFUND)
    lines, _, _ = await _value_lines(session, order, ret)
    credit = sum(ln.refund_amount for ln in lines)
    old = view.products.get(view.lines[data.line_no].sku)
    even = old is not None and old.product_id == new.product_id
    new_price = (
        credit
        if even
        else data.quantity * await neighbours.price_today(session, data.new_sku, order.currency, store, channel_of(principal))
    )
    difference = rules.exchange_difference(credit, new_price)
    if difference > 0 and data.paid_by is None:
        raise ExchangePaymentRequired(f"the customer pays {difference} more: send paid_by", difference=difference)
    if not await neighbours.hand_over(
        session, f"exchange:{ret.number}", data.new_sku, store, data.quantity, principal.key_id
    ):
        raise ExchangeStockShort(f"{data.new_sku} is not available at {store}", sku=data.new_sku, location=store)
    # Only a negative difference is money back: the credit itself paid for the replacement.
    back = max(-difference, 0)
    await _pay_back(session, principal, order, ret, [(data.line_no, back)] if back else [], back, 0)
    await repository.insert_exchange(
        session,
        {
            "return_id": ret.id,
            "sku": data.new_sku,
            "quantity": data.quantity,
            "credit": credit,
            "new_price": new_price,
            "even": even,
            "difference": difference,
            "paid_by": data.paid_by if difference > 0 else None,
            "location_code": store,
            "created_at": clock.now(),
        },
    )
    await _step(
        session,
        principal,
        ret,
        "exchanged",
        before,
        new_sku=data.new_sku,
        quantity=data.quantity,
        credit=credit,
        new_price=new_price,
        difference=difference,
        even=even,
    )
    return await _out(session, ret)


# ---- policies -----------------------------------------------------------------------------


async def set_policy(session: AsyncSession, category_code: str, days: int) -> PolicyOut:
    row = await repository.upsert_policy(session, category_code, days, clock.now())
    return PolicyOut(category_code=row.category_code, days=row.days, updated_at=row.updated_at)


async def list_policies(session: AsyncSession, cursor: str | None, limit: int) -> Page[PolicyOut]:
    after = decode_cursor(cursor, 1)
    rows = await repository.list_policies(session, str(after[0]) if after else None, limit)
    items = [PolicyOut(category_code=r.category_code, days=r.days, updated_at=r.updated_at) for r in rows]
    return page_of(items, limit, lambda p: [p.category_code])


# ---- the gateway, after commit -------------------------------------------------------------


async def settle_refunds(maker: async_sessionmaker[AsyncSession], return_id: uuid.UUID) -> int:
    """Refund the return's card shares at their gateway, keyed by the refund id (a repeat
    moves no money twice). Captures the order's cards first (the gateway refunds only what
    it captured). No transaction is open during a gateway call. Returns the calls made."""
    from app.orders import service as orders_service

    async with transaction(maker) as session:
        ret = await repository.get_return(session, return_id)
        if ret is None:
            return 0
        order_id = ret.order_id
    await orders_service.settle_payments(maker, order_id)
    async with transaction(maker) as session:
        pending = await repository.pending_card_refunds(session, return_id)
    calls = 0
    for row in pending:
        gateway = registry.provider(row.provider or registry.DEFAULT_PROVIDER, maker)
        await gateway.refund(f"refund:{row.id}", row.authorization_id, row.amount)
        calls += 1
        async with transaction(maker) as session:
            await repository.mark_refund_done(session, row.id, clock.now())
    return calls


async def pending_refund_returns(session: AsyncSession, limit: int = 100) -> list[uuid.UUID]:
    return await repository.returns_with_pending_refunds(session, limit)


# ---- shaping ------------------------------------------------------------------------------


async def _out(session: AsyncSession, ret: Return) -> ReturnOut:
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
        refunds=[RefundOut(id=r.id, tender_id=r.tender_id, kind=r.kind, amount=r.amount, status=r.status) for r in refunds],
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
