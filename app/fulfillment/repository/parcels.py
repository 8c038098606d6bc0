"""Fulfillment's SQL for parcels and carrier events, and for what reached the customers
(returns' look-up, the shopper's and the contact center's shipment views)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment.models import (
    CarrierEvent,
    FulfillmentEvent,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Parcel,
)

# ---- parcels and carrier events ------------------------------------------------------------


async def add_parcels(session: AsyncSession, parcels: Sequence[Parcel]) -> None:
    session.add_all(parcels)
    await session.flush()


async def parcels_of(session: AsyncSession, fo_ids: Sequence[uuid.UUID]) -> list[Parcel]:
    if not fo_ids:
        return []
    query = select(Parcel).where(Parcel.fulfillment_order_id.in_(list(fo_ids))).order_by(Parcel.created_at)
    return list((await session.scalars(query)).all())


async def parcel_by_tracking(session: AsyncSession, carrier: str, tracking_number: str) -> Parcel | None:
    query = select(Parcel).where(Parcel.carrier == carrier, Parcel.tracking_number == tracking_number)
    result: Parcel | None = await session.scalar(query.with_for_update())
    return result


async def parcels_to(session: AsyncSession, tracking_number: str, store: str | None) -> list[Parcel]:
    """Ship-to-store parcels with this tracking number bound for `store` (None: any store)."""
    query = (
        select(Parcel)
        .join(FulfillmentOrder, FulfillmentOrder.id == Parcel.fulfillment_order_id)
        .where(Parcel.tracking_number == tracking_number, FulfillmentOrder.type == "ship_to_store")
    )
    if store is not None:
        query = query.where(FulfillmentOrder.deliver_to == store)
    return list((await session.scalars(query)).all())


async def tracking_taken(session: AsyncSession, pairs: Sequence[tuple[str, str]]) -> list[Row[Any]]:
    sql = """
    SELECT p.carrier, p.tracking_number FROM parcels p
    JOIN unnest(CAST(:carriers AS text[]), CAST(:numbers AS text[])) AS x(carrier, number)
      ON p.carrier = x.carrier AND p.tracking_number = x.number
    """
    params = {"carriers": [p[0] for p in pairs], "numbers": [p[1] for p in pairs]}
    return list((await session.execute(text(sql), params)).all())


async def claim_carrier_event(session: AsyncSession, row: dict[str, Any]) -> bool:
    """False when this carrier event was seen before (at-least-once webhooks)."""
    stmt = insert(CarrierEvent).values(**row).on_conflict_do_nothing().returning(CarrierEvent.event_id)
    return (await session.execute(stmt)).first() is not None


# ---- what reached the customers of several orders (returns' look-up) ----------------------


async def handed_over_lines(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """(order_id, line_id, picked_quantity, at) of every line with picked units of a delivered
    `delivery` fulfillment order or a collected `pickup` one of `order_ids`, in one statement.
    `at`: the last parcel's delivery (a delivery), the last `collected` step (a pickup); the
    fulfillment order's last change when that is missing."""
    if not order_ids:
        return []
    delivered_at = (
        select(func.max(Parcel.delivered_at))
        .where(Parcel.fulfillment_order_id == FulfillmentOrder.id)
        .scalar_subquery()
    )
    collected_at = (
        select(FulfillmentEvent.at)
        .where(
            FulfillmentEvent.fulfillment_order_id == FulfillmentOrder.id,
            FulfillmentEvent.to_status == "collected",
        )
        .order_by(FulfillmentEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    delivered = (FulfillmentOrder.type == "delivery") & (FulfillmentOrder.status == "delivered")
    collected = (FulfillmentOrder.type == "pickup") & (FulfillmentOrder.status == "collected")
    at = func.coalesce(case((delivered, delivered_at), else_=collected_at), FulfillmentOrder.updated_at)
    query = (
        select(
            FulfillmentOrder.order_id,
            FulfillmentOrderLine.line_id,
            FulfillmentOrderLine.picked_quantity,
            at.label("at"),
        )
        .join(FulfillmentOrderLine, FulfillmentOrderLine.fulfillment_order_id == FulfillmentOrder.id)
        .where(
            FulfillmentOrder.order_id.in_(list(order_ids)),
            delivered | collected,
            FulfillmentOrderLine.picked_quantity > 0,
        )
        .order_by(FulfillmentOrder.order_id, FulfillmentOrder.created_at, FulfillmentOrder.number)
    )
    return list((await session.execute(query)).all())


async def order_ids_of(session: AsyncSession, fo_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The orders these fulfillment orders serve, without locking anything (a fulfillment
    order never changes order): what a pick list's confirmation locks first."""
    if not fo_ids:
        return []
    query = select(FulfillmentOrder.order_id).where(FulfillmentOrder.id.in_(list(fo_ids))).distinct()
    return list((await session.scalars(query)).all())


async def units_held(session: AsyncSession, terminal: Sequence[str], limit: int) -> list[Row[Any]]:
    """(order_id, order_number, fulfillment_order, sku, location_code, reference, quantity):
    the units each line of an unfinished fulfillment order counts as held by a reservation."""
    sql = """
    SELECT fo.order_id, fo.order_number, fo.number AS fulfillment_order, l.sku, fo.location_code,
           h->>'ref' AS reference, sum(CAST(h->>'qty' AS bigint)) AS quantity
    FROM fulfillment_orders fo
    JOIN fulfillment_order_lines l ON l.fulfillment_order_id = fo.id
    CROSS JOIN LATERAL jsonb_array_elements(l.holds) AS h
    WHERE fo.status <> ALL(CAST(:terminal AS text[])) AND CAST(h->>'qty' AS bigint) > 0
    GROUP BY fo.order_id, fo.order_number, fo.number, l.sku, fo.location_code, h->>'ref'
    ORDER BY fo.order_number, fo.number, l.sku
    LIMIT :limit
    """
    return list((await session.execute(text(sql), {"terminal": sorted(terminal), "limit": limit})).all())


# ---- shipments (the shopper's and the contact center's view) -------------------------------


async def fulfillment_orders_of_orders(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> list[FulfillmentOrder]:
    if not order_ids:
        return []
    query = (
        select(FulfillmentOrder)
        .where(FulfillmentOrder.order_id.in_(list(order_ids)))
        .order_by(FulfillmentOrder.order_id, FulfillmentOrder.created_at, FulfillmentOrder.number)
    )
    return list((await session.scalars(query)).all())


async def first_moves_to(
    session: AsyncSession, order_ids: Sequence[uuid.UUID], status: str
) -> dict[uuid.UUID, datetime]:
    """When each fulfillment order of these orders first reached `status` (its events)."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(FulfillmentEvent.fulfillment_order_id, func.min(FulfillmentEvent.at))
        .where(FulfillmentEvent.order_id.in_(list(order_ids)), FulfillmentEvent.to_status == status)
        .group_by(FulfillmentEvent.fulfillment_order_id)
    )
    return {row[0]: row[1] for row in rows if row[0] is not None}
