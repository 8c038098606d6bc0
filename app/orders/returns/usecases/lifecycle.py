"""A return's life: eligibility, the conditional take of units, authorization or immediate
return, receipt at the location where the goods arrive, close / reject."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal, Role
from app.inventory import service as inventory
from app.orders import repository as orders_repository
from app.orders.models import Order
from app.orders.returns import repository, rules
from app.orders.returns.errors import (
    DuplicateLine,
    ExceedsPurchase,
    NotEligible,
    ReceiptMismatch,
    ReturnNotFound,
    ReturnOrderNotFound,
    ReturnRace,
    UnknownOrderLine,
)
from app.orders.returns.models import Return
from app.orders.returns.schemas import (
    ReceiveBody,
    ReturnCreate,
    ReturnLineIn,
    ReturnOut,
)
from app.orders.returns.usecases.common import (
    _NUMBER_ATTEMPTS,
    OrderView,
    accepting,
    check_access,
    load,
    move,
    return_out,
    step,
    store_of,
)
from app.orders.usecases.common import channel_of


def wanted_lines(view: OrderView, lines: Sequence[ReturnLineIn]) -> dict[int, int]:
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


def presented_not_delivered(view: OrderView, lines: Sequence[ReturnLineIn]) -> dict[int, int]:
    """{line no: units} the customer presents at a till that the order does not know as
    delivered yet (their parcel is on its way by the carrier's account). Lines the order does
    not have are left to `wanted_lines` to refuse."""
    presented = {
        line.line_no: rules.presented_units(view.facts[line.line_no], line.quantity)
        for line in lines
        if line.line_no in view.facts
    }
    return {no: units for no, units in presented.items() if units > 0}


def eligibility(view: OrderView, wanted: dict[int, int], principal: Principal, override: str | None) -> dict[int, str]:
    """The overridden reason per line; raises NotEligible for anything not overridden."""
    if override is not None and principal.role != Role.ADMIN:
        raise PermissionDeniedException(detail="only an admin key may override return eligibility")
    now = clock.now()
    problems = {
        no: reason for no, qty in sorted(wanted.items()) if (reason := rules.line_reason(view.facts[no], now, qty))
    }
    blocking = {no: r for no, r in problems.items() if override is None or r not in rules.OVERRIDABLE}
    if blocking:
        first = next(iter(blocking.values()))
        raise NotEligible(
            "; ".join(f"line {no}: {r.value}" for no, r in blocking.items()),
            code=first.value,
            lines=[{"line_no": no, "reason": r.value} for no, r in blocking.items()],
        )
    return {no: r.value for no, r in problems.items()}


async def take(session: AsyncSession, view: OrderView, wanted: dict[int, int]) -> None:
    for no, qty in sorted(wanted.items()):
        if not await repository.take_units(session, view.order.id, no, qty, view.facts[no].delivered):
            raise ReturnRace(f"line {no}: the units were returned meanwhile", line_no=no)


async def open_return(
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
    await step(session, principal, ret, "requested", None, lines=lines, reason=reason, override_reason=override)
    move(ret, rules.Action.AUTHORIZE)
    await step(session, principal, ret, "authorized", rules.Status.REQUESTED.value)
    return ret


async def immediate_store(session: AsyncSession, principal: Principal, data: ReturnCreate) -> str | None:
    """Where an immediate return is received (the caller's store, which must accept
    returns; each line names its disposition); None for a return the customer posts back."""
    if data.mode != rules.Mode.IMMEDIATE:
        return None
    store = await accepting(session, store_of(principal, data.location_code))
    missing = [line.line_no for line in data.lines if line.disposition is None]
    if missing:
        raise ReceiptMismatch("an immediate return names each line's disposition", lines=missing)
    return store


async def request_return(session: AsyncSession, principal: Principal, view: OrderView, data: ReturnCreate) -> Return:
    """Check the lines (eligibility, or an admin's override), take their units (a unit
    another return took meanwhile: 409) and write the authorized return."""
    wanted = wanted_lines(view, data.lines)
    overridden = eligibility(view, wanted, principal, data.override_reason)
    await take(session, view, wanted)
    return await open_return(
        session,
        principal,
        view,
        wanted,
        mode=data.mode,
        reason=data.reason,
        override=data.override_reason,
        overridden=overridden,
    )


def dispositions(data: ReturnCreate) -> list[tuple[int, int, rules.Disposition]]:
    """(line no, units, disposition) of an immediate return."""
    return [(ln.line_no, ln.quantity, rules.Disposition(ln.disposition or "restock")) for ln in data.lines]


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
            await check_access(session, principal, order, token)
        except ReturnOrderNotFound:
            raise ReturnNotFound(f"no return {return_id}") from None
    return await return_out(session, ret)


async def receive(session: AsyncSession, principal: Principal, return_id: uuid.UUID, data: ReceiveBody) -> ReturnOut:
    store = await accepting(
        session, store_of(principal, data.location_code, roles=frozenset({Role.POS, Role.LOGISTICS}))
    )
    order, ret = await load(session, principal, return_id)
    await receive_goods(
        session, principal, order, ret, store, [(ln.line_no, ln.quantity, ln.disposition) for ln in data.lines]
    )
    return await return_out(session, ret)


async def receive_goods(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    ret: Return,
    store: str,
    dispositions: Sequence[tuple[int, int, rules.Disposition]],
) -> None:
    before = move(ret, rules.Action.RECEIVE)
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
            lines=[
                {"line_no": no, "expected": lines[no].quantity, "got": sum(got.get(no, {}).values())} for no in wrong
            ],
        )
    reference = f"return:{ret.number}"
    for no in sorted(lines):
        line = lines[no]
        line.restocked = got[no].get(rules.Disposition.RESTOCK, 0)
        line.damaged = got[no].get(rules.Disposition.DAMAGED, 0)
        # Back into the receiving location's on_hand: a `return_restock` ledger row. A damaged
        # unit enters its books and is written off at once (`return_restock` + `damage`), so
        # on_hand does not move and the ledger still explains where the unit went.
        for units, written_off in ((line.restocked, False), (line.damaged, True)):
            if units:
                await _restock(session, line.sku, store, units, reference, principal, written_off=written_off)
    ret.location_code, ret.received_at = store, clock.now()
    await session.flush()
    await step(
        session,
        principal,
        ret,
        "received",
        before,
        lines=[{"line_no": ln.line_no, "restocked": ln.restocked, "damaged": ln.damaged} for ln in lines.values()],
    )


async def _restock(
    session: AsyncSession,
    sku: str,
    store: str,
    units: int,
    reference: str,
    principal: Principal,
    *,
    written_off: bool,
) -> None:
    moves = [(units, "return_restock"), (-units, "damage")] if written_off else [(units, "return_restock")]
    for delta, reason in moves:
        await inventory.adjust(
            session,
            sku=sku,
            location_code=store,
            delta=delta,
            reason=reason,
            reference=reference,
            actor=principal.key_id,
        )


async def close(
    session: AsyncSession, principal: Principal, return_id: uuid.UUID, action: rules.Action, reason: str
) -> ReturnOut:
    """Close (the customer withdrew it, it never came) or reject (staff refuse it) a return
    whose goods have not come back: its units may be returned again."""
    order, ret = await load(session, principal, return_id)
    before = move(ret, action)
    lines = await repository.lines_of(session, ret.id)
    await repository.give_back_units(session, order.id, [(ln.line_no, ln.quantity) for ln in lines])
    ret.closed_at, ret.note = clock.now(), reason
    await step(session, principal, ret, ret.status, before, reason=reason)
    return await return_out(session, ret)
