"""Every SQL statement of fulfillment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.core.models import OutboxEvent
from app.fulfillment.models import (
    Bin,
    FulfillmentEvent,
    FulfillmentOrder,
    FulfillmentOrderLine,
    PickList,
    SourcingDecision,
    SourcingRuleVersion,
)

# Parcels, carrier events and what reached the customers live in their own module.
from app.fulfillment.repository.parcels import (
    add_parcels as add_parcels,
)
from app.fulfillment.repository.parcels import (
    claim_carrier_event as claim_carrier_event,
)
from app.fulfillment.repository.parcels import (
    first_moves_to as first_moves_to,
)
from app.fulfillment.repository.parcels import (
    fulfillment_orders_of_orders as fulfillment_orders_of_orders,
)
from app.fulfillment.repository.parcels import (
    handed_over_lines as handed_over_lines,
)
from app.fulfillment.repository.parcels import (
    order_ids_of as order_ids_of,
)
from app.fulfillment.repository.parcels import (
    parcel_by_tracking as parcel_by_tracking,
)
from app.fulfillment.repository.parcels import (
    parcels_of as parcels_of,
)
from app.fulfillment.repository.parcels import (
    parcels_to as parcels_to,
)
from app.fulfillment.repository.parcels import (
    tracking_taken as tracking_taken,
)
from app.fulfillment.repository.parcels import (
    units_held as units_held,
)

# ---- rule versions -------------------------------------------------------------------------


async def current_rules(session: AsyncSession) -> SourcingRuleVersion | None:
    result: SourcingRuleVersion | None = await session.scalar(
        select(SourcingRuleVersion).order_by(SourcingRuleVersion.version.desc()).limit(1)
    )
    return result


async def latest_rules(session: AsyncSession) -> tuple[int, str] | None:
    """The newest rule version and its rules as JSON text (on the driver: every placement)."""
    row = await db.fetchrow(
        session, "SELECT version, CAST(rules AS text) FROM sourcing_rule_versions ORDER BY version DESC LIMIT 1"
    )
    return None if row is None else (row[0], row[1])


async def rule_version(session: AsyncSession, version: int) -> SourcingRuleVersion | None:
    return await session.get(SourcingRuleVersion, version)


async def rule_versions(session: AsyncSession, *, before: int | None, limit: int) -> list[SourcingRuleVersion]:
    query = select(SourcingRuleVersion).order_by(SourcingRuleVersion.version.desc()).limit(limit)
    if before is not None:
        query = query.where(SourcingRuleVersion.version < before)
    return list((await session.scalars(query)).all())


async def add_rule_version(session: AsyncSession, row: SourcingRuleVersion) -> SourcingRuleVersion:
    session.add(row)
    await session.flush()
    return row


# ---- sourcing decisions --------------------------------------------------------------------


# write_sourcing's statement for each shape of its rows (which tables, which columns): built
# once, so a placement pays neither the string building nor SQLAlchemy's statement work.
_sourcing_sql: dict[tuple[tuple[str, tuple[str, ...]], ...], str] = {}
_SOURCING_TABLES: dict[str, tuple[str, dict[str, str] | None]] = {
    "f": (FulfillmentOrder.__tablename__, {"decision_id": "(SELECT id FROM d)"}),
    "l": (FulfillmentOrderLine.__tablename__, None),
    "e": (FulfillmentEvent.__tablename__, None),
    "o": (OutboxEvent.__tablename__, None),
}


def _sourcing_statement(shape: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """`shape` is ((cte name, columns), ...), the decision ("d") first; the n-th is bound to $n."""
    parts: list[str] = []
    for n, (name, columns) in enumerate(shape, start=1):
        if name == "d":
            parts.append(db.rows_cte(name, SourcingDecision.__tablename__, columns, returning="id", param=f"${n}"))
        else:
            table, extra = _SOURCING_TABLES[name]
            parts.append(db.rows_cte(name, table, columns, extra=extra, param=f"${n}"))
    return f"WITH {', '.join(parts)} SELECT id FROM d"


async def write_sourcing(
    session: AsyncSession,
    decision: dict[str, Any],
    orders: Sequence[dict[str, Any]],
    lines: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    outbox_events: Sequence[dict[str, Any]] = (),
) -> int:
    """A sourcing decision, the fulfillment orders it opens (their `decision_id` is the new
    decision's), their lines, the timeline rows and outbox events (rows of outbox_events):
    one statement, on the driver. Returns the decision id."""
    if session.new or session.dirty or session.deleted:
        await session.flush()  # timeline rows and events added before these keep their order
    shape: list[tuple[str, tuple[str, ...]]] = [("d", tuple(decision))]
    args = [db.rows_json([decision])]
    for name, rows in (("f", orders), ("l", lines), ("e", events), ("o", outbox_events)):
        if rows:
            shape.append((name, tuple(rows[0])))
            args.append(db.rows_json(rows))
    key = tuple(shape)
    sql = _sourcing_sql.get(key)
    if sql is None:
        sql = _sourcing_sql[key] = _sourcing_statement(key)
    return int(await db.fetchval(session, sql, *args))


async def decisions_of(session: AsyncSession, order_id: uuid.UUID) -> list[SourcingDecision]:
    query = select(SourcingDecision).where(SourcingDecision.order_id == order_id).order_by(SourcingDecision.id)
    return list((await session.scalars(query)).all())


async def recent_placements(session: AsyncSession, limit: int) -> list[SourcingDecision]:
    query = (
        select(SourcingDecision)
        .where(SourcingDecision.trigger == "placement")
        .order_by(SourcingDecision.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def assigned_since(session: AsyncSession, since: datetime, codes: Sequence[str] | None) -> dict[str, int]:
    """Fulfillment orders given to each location since `since` (what its daily capacity counts).
    Rejected and cancelled ones count too: the store's day was spent on them."""
    query = (
        select(FulfillmentOrder.location_code, func.count())
        .where(FulfillmentOrder.created_at >= since)
        .group_by(FulfillmentOrder.location_code)
    )
    if codes is not None:
        query = query.where(FulfillmentOrder.location_code.in_(list(codes)))
    return {code: int(n) for code, n in (await session.execute(query)).all()}


# ---- fulfillment orders -----------------------------------------------------------------------


async def remove_lines(session: AsyncSession, lines: Sequence[FulfillmentOrderLine]) -> None:
    """Lines whose every unit was cancelled while the rest of their order goes on."""
    for line in lines:
        await session.delete(line)
    await session.flush()


async def fulfillment_order(session: AsyncSession, fo_id: uuid.UUID, *, lock: bool = False) -> FulfillmentOrder | None:
    query = select(FulfillmentOrder).where(FulfillmentOrder.id == fo_id)
    if lock:
        # Fresh values under the lock (callers flush their changes first: see common.move).
        query = query.with_for_update().execution_options(populate_existing=True)
    result: FulfillmentOrder | None = await session.scalar(query)
    return result


async def fulfillment_orders_of(
    session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False
) -> list[FulfillmentOrder]:
    query = (
        select(FulfillmentOrder)
        .where(FulfillmentOrder.order_id == order_id)
        .order_by(FulfillmentOrder.created_at, FulfillmentOrder.number)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list((await session.scalars(query)).all())


async def lines_of(session: AsyncSession, fo_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[FulfillmentOrderLine]]:
    if not fo_ids:
        return {}
    query = (
        select(FulfillmentOrderLine)
        .where(FulfillmentOrderLine.fulfillment_order_id.in_(list(fo_ids)))
        .order_by(FulfillmentOrderLine.fulfillment_order_id, FulfillmentOrderLine.line_id)
    )
    out: dict[uuid.UUID, list[FulfillmentOrderLine]] = {i: [] for i in fo_ids}
    for line in (await session.scalars(query)).all():
        out[line.fulfillment_order_id].append(line)
    return out


async def list_fulfillment_orders(
    session: AsyncSession,
    *,
    location_code: str | None,
    status: str | None,
    order_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[FulfillmentOrder]:
    query = select(FulfillmentOrder).order_by(FulfillmentOrder.created_at, FulfillmentOrder.id).limit(limit + 1)
    if location_code is not None:
        query = query.where(FulfillmentOrder.location_code == location_code)
    if status is not None:
        query = query.where(FulfillmentOrder.status == status)
    if order_id is not None:
        query = query.where(FulfillmentOrder.order_id == order_id)
    if after is not None:
        query = query.where(
            (FulfillmentOrder.created_at > after[0])
            | ((FulfillmentOrder.created_at == after[0]) & (FulfillmentOrder.id > after[1]))
        )
    return list((await session.scalars(query)).all())


async def inbound_to_store(session: AsyncSession, store: str, limit: int) -> list[FulfillmentOrder]:
    """Ship-to-store fulfillment orders on their way to `store` (shipped, not yet received)."""
    query = (
        select(FulfillmentOrder)
        .where(
            FulfillmentOrder.type == "ship_to_store",
            FulfillmentOrder.deliver_to == store,
            FulfillmentOrder.status == "shipped",
        )
        .order_by(FulfillmentOrder.created_at, FulfillmentOrder.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def queue_candidates(
    session: AsyncSession,
    location_code: str,
    *,
    window_end: datetime,
    exclude: Sequence[uuid.UUID],
    limit: int,
) -> list[FulfillmentOrder]:
    """The location's open fulfillment orders in pick priority (rules.batch_priority),
    not locked: the caller locks the ones it chooses (`lock_open`)."""
    urgent = (FulfillmentOrder.type == "pickup") & (FulfillmentOrder.pickup_slot_at <= window_end)
    query = (
        select(FulfillmentOrder)
        .where(FulfillmentOrder.location_code == location_code, FulfillmentOrder.status.in_(("created", "accepted")))
        .order_by(
            func.coalesce(urgent, False).desc(),
            FulfillmentOrder.promised_at.asc().nulls_last(),
            FulfillmentOrder.created_at,
            FulfillmentOrder.id,
        )
        .limit(limit)
    )
    if exclude:
        query = query.where(FulfillmentOrder.id.not_in(list(exclude)))
    return list((await session.scalars(query)).all())


async def lock_open(session: AsyncSession, fo_ids: Sequence[uuid.UUID]) -> list[FulfillmentOrder]:
    """Lock those of `fo_ids` that are still open and not locked by a colleague right now
    (SKIP LOCKED: two staff asking at once never get the same order, and never wait)."""
    if not fo_ids:
        return []
    query = (
        select(FulfillmentOrder)
        .where(FulfillmentOrder.id.in_(list(fo_ids)), FulfillmentOrder.status.in_(("created", "accepted")))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(query)).all())


async def overdue_store_responses(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    query = (
        select(FulfillmentOrder.id)
        .where(FulfillmentOrder.status == "created", FulfillmentOrder.respond_by <= now)
        .order_by(FulfillmentOrder.respond_by)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def expired_pickups(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    query = (
        select(FulfillmentOrder.id)
        .where(FulfillmentOrder.status == "ready_for_pickup", FulfillmentOrder.expires_at <= now)
        .order_by(FulfillmentOrder.expires_at)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def count_of_order(session: AsyncSession, order_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(FulfillmentOrder.order_id == order_id)) or 0)


# ---- events ---------------------------------------------------------------------------------


def add_event(session: AsyncSession, event: FulfillmentEvent) -> None:
    session.add(event)


async def events_of(session: AsyncSession, order_id: uuid.UUID) -> list[FulfillmentEvent]:
    query = select(FulfillmentEvent).where(FulfillmentEvent.order_id == order_id).order_by(FulfillmentEvent.id)
    return list((await session.scalars(query)).all())


# ---- pick lists and bins --------------------------------------------------------------------


async def add_pick_list(session: AsyncSession, row: PickList) -> None:
    session.add(row)
    await session.flush()


async def pick_list(session: AsyncSession, pick_list_id: uuid.UUID, *, lock: bool = False) -> PickList | None:
    query = select(PickList).where(PickList.id == pick_list_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    result: PickList | None = await session.scalar(query)
    return result


async def pick_list_sequence(session: AsyncSession, pl: PickList, since: datetime) -> int:
    """The list's place among its location's lists made from `since` (its local midnight)."""
    query = select(func.count()).where(
        PickList.location_code == pl.location_code,
        PickList.created_at >= since,
        func.row(PickList.created_at, PickList.id) <= func.row(pl.created_at, pl.id),
    )
    return int(await session.scalar(query) or 0)


async def fulfillment_orders_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, FulfillmentOrder]:
    rows = await session.scalars(select(FulfillmentOrder).where(FulfillmentOrder.id.in_(list(ids))))
    return {fo.id: fo for fo in rows}


async def bins_at(session: AsyncSession, location_code: str, skus: Sequence[str]) -> dict[str, str]:
    query = select(Bin.sku, Bin.bin_code).where(Bin.location_code == location_code, Bin.sku.in_(list(skus)))
    return {sku: code for sku, code in (await session.execute(query)).all()}


async def put_bins(session: AsyncSession, location_code: str, bins: Sequence[tuple[str, str]], now: datetime) -> None:
    if not bins:
        return
    stmt = insert(Bin).values(
        [{"location_code": location_code, "sku": sku, "bin_code": code, "updated_at": now} for sku, code in bins]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Bin.location_code, Bin.sku],
            set_={"bin_code": stmt.excluded.bin_code, "updated_at": stmt.excluded.updated_at},
        )
    )
