"""A customer cancels units of an order (the cancel flow, app/flows/cancel_order.py, calls this
after locking the order's row): the
fulfillment orders not yet picked give them up — reduced, or cancelled when nothing is left —
and exactly the reservations holding those units are released, wherever they are held (a
line split over two locations, a re-sourcing's own reference, a warehouse feeding a pickup).
Units already picked, packed or on their way cannot be cancelled (409 `invalid_transition`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import outbox
from app.fulfillment import repository, rules
from app.fulfillment.errors import FulfillmentInvalidTransition
from app.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from app.fulfillment.usecases import stock
from app.fulfillment.usecases.common import move, record, take_from_holds

Key = tuple[uuid.UUID, str]  # (fulfillment order id, order line id)


async def cancel_order_lines(session: AsyncSession, order_id: uuid.UUID, lines: Mapping[int, int]) -> set[int]:
    """Give up `lines` ({order line no: units}) of the order's open fulfillment orders and
    release their reservations. Returns the order lines fulfilment holds the stock of (the
    order releases nothing for them itself); a line fulfilment never sourced is not in it."""
    fos = await repository.fulfillment_orders_of(session, order_id, lock=True)  # fixed order: no deadlock
    fo_lines = await repository.lines_of(session, [fo.id for fo in fos])
    owned = {int(ln.line_id) for fo in fos if fo.type != "ship_to_store" for ln in fo_lines[fo.id]}
    wanted = {str(no): units for no, units in lines.items() if no in owned and units > 0}
    if not wanted:
        return set()
    by_id = {fo.id: fo for fo in fos}
    line_of: dict[Key, FulfillmentOrderLine] = {(fo.id, ln.line_id): ln for fo in fos for ln in fo_lines[fo.id]}
    # A pickup line arriving by ship-to-store: its units are still at the warehouse, on the
    # ship-to-store fulfillment order that feeds the pickup.
    feeder: dict[Key, FulfillmentOrder] = {
        (fo.feeds_id, ln.line_id): fo
        for fo in fos
        if fo.type == "ship_to_store" and fo.feeds_id is not None
        for ln in fo_lines[fo.id]
    }
    open_units = [
        rules.OpenUnits(fo.number, ln.line_id, fo.status, _cancellable(fo, ln, feeder))
        for fo in fos
        if fo.type != "ship_to_store" and fo.status in rules.CANCELLABLE
        for ln in fo_lines[fo.id]
        if ln.line_id in wanted
    ]
    try:
        plan = rules.units_to_cancel(open_units, wanted)
    except rules.NotCancellable as exc:
        raise FulfillmentInvalidTransition(
            f"line {exc.line_id}: only {exc.open_units} of its units are not picked yet; picked, packed or "
            "shipped units cannot be cancelled",
            action="cancel",
            line_no=int(exc.line_id),
            wanted=exc.wanted,
            cancellable=exc.open_units,
        ) from None
    number_to_id = {fo.number: fo.id for fo in fos}
    cut: dict[Key, int] = {}
    for share, units in plan:
        key = (number_to_id[share.fulfillment_order], share.line_id)
        cut[key] = cut.get(key, 0) + units
        if _arriving(line_of[key]):
            sts = feeder[key]
            cut[(sts.id, share.line_id)] = cut.get((sts.id, share.line_id), 0) + units
    await _release(session, by_id, line_of, cut)
    for fo_id in sorted({fo_id for fo_id, _ in cut}, key=lambda i: by_id[i].number):
        await _shrink(session, by_id[fo_id], fo_lines[fo_id], cut)
    return {int(line_id) for line_id in wanted}


def _arriving(line: FulfillmentOrderLine) -> bool:
    """Still waiting (wholly or partly) for a ship-to-store parcel."""
    return line.inbound_from is not None and sum(int(h["qty"]) for h in line.holds) < line.quantity


def _cancellable(fo: FulfillmentOrder, line: FulfillmentOrderLine, feeder: Mapping[Key, FulfillmentOrder]) -> int:
    if not _arriving(line):
        return line.quantity
    # Units on their way to the store (picked or shipped at the warehouse) cannot come back.
    sts = feeder.get((fo.id, line.line_id))
    return line.quantity if sts is not None and sts.status in rules.CANCELLABLE else 0


async def _release(
    session: AsyncSession,
    by_id: Mapping[uuid.UUID, FulfillmentOrder],
    line_of: Mapping[Key, FulfillmentOrderLine],
    cut: Mapping[Key, int],
) -> None:
    """Release the reservations holding the cut units (a line arriving by ship-to-store holds
    nothing at the store yet: its units are released at the warehouse)."""
    by_ref: dict[str, list[stock.StockLine]] = {}
    for (fo_id, line_id), units in sorted(cut.items()):
        line = line_of[(fo_id, line_id)]
        if _arriving(line):
            continue
        for ref, taken in take_from_holds(line, units):
            by_ref.setdefault(ref, []).append((line.sku, by_id[fo_id].location_code, taken))
    for ref, held in sorted(by_ref.items()):
        await stock.release(session, ref, held, None)


async def _shrink(
    session: AsyncSession, fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], cut: Mapping[Key, int]
) -> None:
    """Cancel the fulfillment order when none of its units are left (its lines stay as they
    were: the history), otherwise reduce its lines and drop those with nothing left."""
    given_up = [
        {"line_id": ln.line_id, "quantity": cut[(fo.id, ln.line_id)]} for ln in lines if (fo.id, ln.line_id) in cut
    ]
    if all(cut.get((fo.id, ln.line_id), 0) >= ln.quantity for ln in lines):
        await move(session, fo, "cancel", None, reason="order cancelled", lines=given_up)
        return
    gone = []
    for ln in lines:
        ln.quantity -= cut.get((fo.id, ln.line_id), 0)
        if ln.quantity == 0:
            gone.append(ln)
    await repository.remove_lines(session, gone)
    left = [ln for ln in lines if ln.quantity > 0]
    fo.units = sum(ln.quantity for ln in left)
    record(session, fo, fo.order_id, "lines_cancelled", None, reason="order cancelled", lines=given_up)
    await outbox.record(
        session,
        "fulfillment.reduced",
        aggregate_type="fulfillment_order",
        aggregate_id=str(fo.id),
        payload={
            "fulfillment_order_id": str(fo.id),
            "number": fo.number,
            "order_id": str(fo.order_id),
            "location": fo.location_code,
            "status": fo.status,
            "lines": given_up,
        },
    )
    # A pickup that now waits for no parcel opens for picking.
    if fo.status == "awaiting_transfer" and not any(_arriving(ln) for ln in left):
        await move(session, fo, "transfer_arrived", None)
