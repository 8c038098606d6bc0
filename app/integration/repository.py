"""Every SQL statement of integrations: the event feed, subscriptions, deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxEvent
from app.integration.models import WebhookDelivery, WebhookSubscription


async def feed_page(
    session: AsyncSession, after: tuple[int, int] | None, types: Sequence[str] | None, limit: int
) -> Sequence[OutboxEvent]:
    """Events in (txid, id) order, only from transactions older than every write transaction
    of this database still running: nothing can later appear behind a cursor a reader holds."""
    query = select(OutboxEvent).where(OutboxEvent.txid < _FEED_HORIZON)
    if after is not None:
        query = query.where(tuple_(OutboxEvent.txid, OutboxEvent.id) > tuple_(after[0], after[1]))
    if types:
        query = query.where(OutboxEvent.type.in_(list(types)))
    query = query.order_by(OutboxEvent.txid, OutboxEvent.id).limit(limit)
    return (await session.scalars(query)).all()


# The smallest transaction id still running at this statement's snapshot, ignoring transactions
# known to belong to other databases of the cluster (their xids share the counter). A running
# transaction we cannot place (finished since, or hidden by permissions) counts as ours: the
# feed then waits a little longer, it never skips.
_FEED_HORIZON = text(
    """(
    SELECT coalesce(
        min(running.xid::text::bigint),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
    FROM pg_snapshot_xip(pg_current_snapshot()) AS running(xid)
    WHERE (running.xid::text::bigint % 4294967296) NOT IN (
        SELECT backend_xid::text::bigint FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database())
    )"""
)


async def add_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    session.add(subscription)
    await session.flush()


async def delete_subscription(session: AsyncSession, subscription: WebhookSubscription) -> None:
    """Its deliveries go with it (ON DELETE CASCADE)."""
    await session.delete(subscription)
    await session.flush()


async def get_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def list_subscriptions(session: AsyncSession) -> Sequence[WebhookSubscription]:
    return (await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.created_at))).all()


async def active_subscriptions_for(session: AsyncSession, event_type: str) -> Sequence[WebhookSubscription]:
    return (
        await session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.active.is_(True),
                or_(
                    WebhookSubscription.event_types.any(event_type),  # type: ignore[arg-type]
                    WebhookSubscription.event_types.any("*"),  # type: ignore[arg-type]
                ),
            )
        )
    ).all()


async def active_subscriptions(session: AsyncSession) -> Sequence[WebhookSubscription]:
    return (await session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))).all()


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Pending deliveries in one statement; an (subscription, event) already queued is skipped."""
    if not rows:
        return []
    inserted = await session.scalars(
        insert(WebhookDelivery).values(list(rows)).on_conflict_do_nothing().returning(WebhookDelivery.id)
    )
    return [int(i) for i in inserted]


async def event_by_id(session: AsyncSession, event_id: uuid.UUID) -> OutboxEvent | None:
    return await session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))


async def enqueue_delivery(
    session: AsyncSession, subscription_id: uuid.UUID, event: OutboxEvent, coalesce_key: str | None
) -> int | None:
    """Insert a pending delivery; a pending one with the same coalescing key takes the newer event
    (never an older one: two relays may run at once). Returns the delivery id, or None when this
    event was already queued for this subscription or a newer one of its key is pending.

    One upsert on the pending-coalescing index, not UPDATE-then-INSERT: when another relay's
    pending row is not committed yet, an UPDATE does not see it and the INSERT then conflicts
    with it, which silently dropped the newest state of a SKU."""
    values = {
        "subscription_id": subscription_id,
        "event_id": event.event_id,
        "event_type": event.type,
        "coalesce_key": coalesce_key,
        "status": "pending",
    }
    statement = insert(WebhookDelivery).values(**values)
    if coalesce_key is None:
        statement = statement.on_conflict_do_nothing()
    else:
        # Written as text: SQLAlchemy does not correlate a subquery with the INSERT's target row.
        pending_is_older = text(
            "(SELECT o.id FROM outbox_events o WHERE o.event_id = webhook_deliveries.event_id) < :newer"
        ).bindparams(newer=event.id)
        statement = statement.on_conflict_do_update(
            index_elements=[WebhookDelivery.subscription_id, WebhookDelivery.coalesce_key],
            index_where=text("status = 'pending' AND coalesce_key IS NOT NULL"),
            set_={"event_id": event.event_id, "event_type": event.type},
            where=pending_is_older,
        )
    inserted = await session.scalar(statement.returning(WebhookDelivery.id))
    return int(inserted) if inserted is not None else None


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, only_id: int | None = None
) -> list[WebhookDelivery]:
    """Lock pending deliveries that are due; concurrent workers skip each other's rows."""
    query = select(WebhookDelivery).where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
    if only_id is not None:
        query = query.where(WebhookDelivery.id == only_id)
    query = query.order_by(WebhookDelivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
    return list((await session.scalars(query)).all())


async def events_by_ids(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, OutboxEvent]:
    rows = (await session.scalars(select(OutboxEvent).where(OutboxEvent.event_id.in_(list(event_ids))))).all()
    return {row.event_id: row for row in rows}


async def subscriptions_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WebhookSubscription]:
    rows = (await session.scalars(select(WebhookSubscription).where(WebhookSubscription.id.in_(list(ids))))).all()
    return {row.id: row for row in rows}


async def deliveries_page(
    session: AsyncSession, subscription_id: uuid.UUID, status: str | None, after_id: int | None, limit: int
) -> Sequence[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if after_id is not None:
        query = query.where(WebhookDelivery.id < after_id)
    return (await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))).all()


async def get_delivery(session: AsyncSession, subscription_id: uuid.UUID, delivery_id: int) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery)
        .where(and_(WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id))
        .with_for_update()
    )


async def count_by_status(session: AsyncSession, subscription_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.subscription_id == subscription_id)
        .group_by(WebhookDelivery.status)
    )
    return {status: int(count) for status, count in rows.all()}


async def pending_deliveries_before(session: AsyncSession, cutoff: datetime) -> int:
    sql = """SELECT count(*) FROM webhook_deliveries d JOIN outbox_events o ON o.event_id = d.event_id
    WHERE d.status = 'pending' AND o.occurred_at < :cutoff"""
    return int(await session.scalar(text(sql), {"cutoff": cutoff}) or 0)
