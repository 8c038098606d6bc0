"""Pick lists: the next walk for a location's staff, its confirmation (with short picks
re-sourced and counted), its printable view, and the bins that order the walk."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core import clock
from app.core.auth import Principal
from app.fulfillment import repository, rules
from app.fulfillment.errors import (
    ConfirmationMismatch,
    InvalidBins,
    NothingToPick,
    PickListClosed,
    PickListNotFound,
    UnknownBinSku,
    UnknownLocation,
)
from app.fulfillment.models import FulfillmentOrder, PickList
from app.fulfillment.schemas import BinsBody, BinsOut, FoundLine, PickLineOut, PickListOut, PickShareOut
from app.fulfillment.usecases import pick_sheet, stock
from app.fulfillment.usecases.common import OrderNews, move, record, rules_in_force, take_from_holds
from app.fulfillment.usecases.resourcing import resource_lines
from app.inventory.errors import LocationNotFound

# How many queue rows to read beyond the order cap, so the unit cap can skip a big order.
LOOKAHEAD = 3
# Rounds of "choose, lock what is free" when colleagues hold some of the chosen orders.
CLAIM_ROUNDS = 5


def _out(pl: PickList) -> PickListOut:
    return PickListOut(
        id=pl.id,
        location_code=pl.location_code,
        status=pl.status,
        lines=msgspec.convert(pl.lines, list[PickLineOut]),
        fulfillment_order_ids=[uuid.UUID(i) for i in pl.fulfillment_order_ids],
        created_at=pl.created_at,
        confirmed_at=pl.confirmed_at,
        confirmation=pl.confirmation,
    )


async def next_pick_list(session: AsyncSession, principal: Principal, location_code: str) -> PickListOut:
    """The location's next walk: open fulfillment orders in priority order (near pickup
    slots first, then oldest promise), up to N orders / M units, locked with SKIP LOCKED so
    two staff asking at once never get the same order."""
    principal.require_location(location_code)
    _, current = await rules_in_force(session)
    now = clock.now()
    window = timedelta(minutes=current.pickup_priority_minutes)
    chosen = await _claim(session, location_code, current, now, window)
    if not chosen:
        raise NothingToPick(f"no open fulfillment orders at {location_code}")
    lines = await repository.lines_of(session, [fo.id for fo in chosen])
    sources = [rules.PickSource(str(fo.id), ln.line_id, ln.sku, ln.quantity) for fo in chosen for ln in lines[fo.id]]
    bins = await repository.bins_at(session, location_code, sorted({s.sku for s in sources}))
    numbers = {str(fo.id): fo.number for fo in chosen}
    walk = [
        PickLineOut(
            sku=pl.sku,
            bin=pl.bin,
            quantity=pl.quantity,
            shares=[
                PickShareOut(
                    fulfillment_order_id=uuid.UUID(s.fulfillment_order_id),
                    fulfillment_order_number=numbers[s.fulfillment_order_id],
                    line_id=s.line_id,
                    quantity=s.quantity,
                )
                for s in pl.shares
            ],
        )
        for pl in rules.aggregate_pick_lines(sources, bins)
    ]
    pick_list = PickList(
        id=uuid.uuid4(),
        location_code=location_code,
        status="open",
        lines=msgspec.to_builtins(walk),
        fulfillment_order_ids=[str(fo.id) for fo in chosen],
        created_by=principal.key_id,
        created_at=now,
    )
    await repository.add_pick_list(session, pick_list)
    for fo in chosen:
        fo.pick_list_id = pick_list.id
        fo.respond_by = None  # taking it into a walk is accepting it
        await move(session, fo, "assign", principal.key_id, flush=False, pick_list_id=str(pick_list.id))
    await session.flush()
    return await pick_sheet.dress(session, pick_list, _out(pick_list))


async def _claim(
    session: AsyncSession, location_code: str, current: rules.SourcingRules, now: datetime, window: timedelta
) -> list[FulfillmentOrder]:
    """Choose a batch from the queue, then lock exactly the chosen orders; those a colleague
    holds are skipped and the batch is topped up from the rest of the queue (a few rounds)."""
    held: list[FulfillmentOrder] = []
    tried: list[uuid.UUID] = []
    for _ in range(CLAIM_ROUNDS):
        room_orders = current.pick_list_max_orders - len(held)
        room_units = current.pick_list_max_units - sum(fo.units for fo in held)
        if room_orders <= 0 or (held and room_units <= 0):
            break
        queue = await repository.queue_candidates(
            session, location_code, window_end=now + window, exclude=tried, limit=room_orders * LOOKAHEAD
        )
        if not queue:
            break
        by_id = {str(fo.id): fo for fo in queue}
        batch = rules.select_batch(
            [_open_order(fo) for fo in queue],
            now,
            max_orders=room_orders,
            max_units=room_units if held else current.pick_list_max_units,
            window=window,
        )
        wanted = [by_id[o.id].id for o in batch]
        tried.extend(wanted)
        got = {fo.id: fo for fo in await repository.lock_open(session, wanted)}
        held.extend(got[i] for i in wanted if i in got)
        if len(got) == len(wanted):
            break
    return sorted(held, key=lambda fo: rules.batch_priority(_open_order(fo), now, window))


def _open_order(fo: FulfillmentOrder) -> rules.OpenOrder:
    return rules.OpenOrder(
        id=str(fo.id),
        type=fo.type,
        created_at=fo.created_at,
        units=fo.units,
        promised_at=fo.promised_at,
        pickup_slot_at=fo.pickup_slot_at,
    )


async def _open_list(session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID, lock: bool) -> PickList:
    pl = await repository.pick_list(session, pick_list_id, lock=lock)
    if pl is None or (principal.location_code is not None and principal.location_code != pl.location_code):
        raise PickListNotFound(f"no pick list {pick_list_id}")
    return pl


async def get_pick_list(session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID) -> PickListOut:
    pl = await _open_list(session, principal, pick_list_id, lock=False)
    return await pick_sheet.dress(session, pl, _out(pl))


async def orders_of_pick_list(session: AsyncSession, pick_list_id: uuid.UUID) -> list[uuid.UUID]:
    """The orders a pick list's fulfillment orders serve (read without a lock): a flow locks
    their rows before `confirm` locks the fulfillment orders."""
    pl = await repository.pick_list(session, pick_list_id)
    if pl is None:
        return []
    return list(await repository.order_ids_of(session, [uuid.UUID(i) for i in pl.fulfillment_order_ids]))


async def confirm(
    session: AsyncSession, principal: Principal, pick_list_id: uuid.UUID, found: list[FoundLine], *, news: OrderNews
) -> PickListOut:
    """Per SKU of the walk, the units actually found. They go to the walk's orders in
    priority order; what was not found is released, written to the ledger as a cycle-count
    correction, and re-sourced to another location (or cancelled: in `news`). The caller
    holds the row locks of the walk's orders (`orders_of_pick_list`)."""
    pl = await _open_list(session, principal, pick_list_id, lock=True)
    if pl.status != "open":
        raise PickListClosed("this pick list was already confirmed")
    walk = msgspec.convert(pl.lines, list[PickLineOut])
    given = {f.sku: f.found for f in found}
    expected = {ln.sku: ln.quantity for ln in walk}
    wrong = sorted(
        {f.sku for f in found if f.sku not in expected or f.found > expected[f.sku]} | (set(expected) - set(given))
    )
    if wrong or len(given) != len(found):
        raise ConfirmationMismatch("confirm each SKU of the walk exactly once, at most its quantity", skus=wrong)
    fo_ids = [uuid.UUID(i) for i in pl.fulfillment_order_ids]
    fos = {fo_id: await _locked_fo(session, fo_id) for fo_id in fo_ids}
    lines = await repository.lines_of(session, fo_ids)
    line_of = {(fo_id, ln.line_id): ln for fo_id, ls in lines.items() for ln in ls}
    # Units the customer cancelled while the walk was under way stay on the shelf.
    walking = {fo_id for fo_id, fo in fos.items() if fo.status == "assigned"}
    missing: dict[str, int] = {}
    for walk_line in walk:
        shares = [
            rules.PickShare(str(s.fulfillment_order_id), s.line_id, min(s.quantity, line.quantity))
            for s in walk_line.shares
            if s.fulfillment_order_id in walking
            and (line := line_of.get((s.fulfillment_order_id, s.line_id))) is not None
        ]
        for share, got in rules.share_found(shares, given[walk_line.sku]):
            line = line_of[(uuid.UUID(share.fulfillment_order_id), share.line_id)]
            line.picked_quantity = got
            line.short_quantity = share.quantity - got
            if line.short_quantity:
                missing[walk_line.sku] = missing.get(walk_line.sku, 0) + line.short_quantity
    outcome: dict[str, str] = {}
    for fo_id, fo in fos.items():
        if fo_id not in walking:
            outcome[str(fo_id)] = fo.status
            continue
        short = [ln for ln in lines[fo_id] if ln.short_quantity]
        await _settle_shorts(session, fo, short, principal.key_id)
        if all(ln.picked_quantity == 0 for ln in lines[fo_id]):
            outcome[str(fo_id)] = await move(session, fo, "cancel", principal.key_id, reason="nothing found")
        else:
            outcome[str(fo_id)] = await move(session, fo, "pick", principal.key_id, short=bool(short))
        if short:
            await session.flush()
            await resource_lines(
                session,
                fo,
                [(ln.line_id, ln.sku, ln.short_quantity) for ln in short],
                trigger="short_pick",
                actor=principal.key_id,
                news=news,
            )
    if missing:
        await stock.count_missing(
            session, pl.location_code, missing, reference=f"pick_list:{pl.id}:short", actor=principal.key_id
        )
    pl.status, pl.confirmed_at = "confirmed", clock.now()
    pl.confirmation = {"found": given, "fulfillment_orders": outcome, "short": missing}
    await session.flush()
    return await pick_sheet.dress(session, pl, _out(pl))


async def _locked_fo(session: AsyncSession, fo_id: uuid.UUID) -> FulfillmentOrder:
    fo = await repository.fulfillment_order(session, fo_id, lock=True)
    assert fo is not None  # a pick list's orders are never deleted
    return fo


async def _settle_shorts(session: AsyncSession, fo: FulfillmentOrder, short: list, actor: uuid.UUID | None) -> None:  # type: ignore[type-arg]
    """Release the reservation of the units not found (the count correction follows)."""
    for line in short:
        for ref, units in take_from_holds(line, line.short_quantity):
            await stock.release(session, ref, [(line.sku, fo.location_code, units)], actor)
        record(
            session, fo, fo.order_id, "short_pick", actor, line_id=line.line_id, sku=line.sku, short=line.short_quantity
        )


# ---- bins ------------------------------------------------------------------------------------


def parse_bins(body: BinsBody) -> list[tuple[str, str]]:
    if (body.bins is None) == (body.csv is None):
        raise InvalidBins("send either bins or csv")
    if body.bins is not None:
        pairs = [(b.sku, b.bin) for b in body.bins]
    else:
        pairs = []
        for number, row in enumerate(csv.reader(io.StringIO(body.csv or "")), start=1):
            if not row or (number == 1 and [c.strip().lower() for c in row] == ["sku", "bin"]):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise InvalidBins(f"csv line {number}: expected `sku,bin`", line=number)
            pairs.append((row[0].strip(), row[1].strip()))
    for sku, code in pairs:
        if len(sku) > 64 or len(code) > 40:
            raise InvalidBins(f"{sku[:64]}: SKU or bin too long")
    skus = [sku for sku, _ in pairs]
    if len(set(skus)) != len(skus):
        raise InvalidBins("a SKU appears twice")
    if len(pairs) > 10_000:
        raise InvalidBins("at most 10000 bins per request")
    return pairs


async def put_bins(session: AsyncSession, principal: Principal, location_code: str, body: BinsBody) -> BinsOut:
    principal.require_location(location_code)
    pairs = parse_bins(body)
    if not await location_exists(session, location_code):
        raise UnknownLocation(f"no location {location_code}")
    known = await catalog.variant_facts(session, [sku for sku, _ in pairs])
    unknown = [sku for sku, _ in pairs if sku not in known]
    if unknown:
        raise UnknownBinSku(f"not in the catalog: {', '.join(unknown[:20])}", field="bins", skus=unknown[:100])
    await repository.put_bins(session, location_code, pairs, clock.now())
    return BinsOut(location_code=location_code, updated=len(pairs))


async def location_exists(session: AsyncSession, code: str) -> bool:
    try:
        await stock.location(session, code)
    except LocationNotFound:
        return False
    return True
