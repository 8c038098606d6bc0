"""HTTP: the event feed and webhook subscriptions (integration and admin keys)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal, Role, roles
from app.core.broker import enqueue_after_commit
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Limit
from app.integration import service
from app.integration.schemas import (
    DeliveryOut,
    DeliveryPage,
    EventPage,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

INTEGRATORS = roles(Role.INTEGRATION, Role.ADMIN)
TypesParam = Annotated[
    str | None,
    Parameter(description="comma-separated event types", max_length=2000, pattern=r"^[a-z_.,*]*$"),
]


@get(
    "/events",
    opt=INTEGRATORS,
    tags=["integration"],
    responses=problem_responses(400, 401, 403, "invalid_cursor"),
    summary="Events in a stable order: nothing ever appears behind a cursor you hold",
)
async def list_events(
    db_session: AsyncSession,
    after: Annotated[str | None, Parameter(max_length=200)] = None,
    types: TypesParam = None,
    limit: Limit = DEFAULT_LIMIT,
) -> EventPage:
    """The ordered event feed: every event after the `after` cursor, oldest first. An integration
    catches up from its last cursor; no event ever appears behind a cursor it holds."""
    wanted = [t for t in (types or "").split(",") if t] or None
    return await service.event_feed(db_session, after, wanted, limit)


@post(
    "/webhooks",
    opt=INTEGRATORS,
    tags=["integration"],
    responses=problem_responses(
        400, 401, 403, 422, "invalid_webhook_url", "unknown_event_type", "webhook_address_not_allowed"
    ),
    summary="Subscribe a URL to event types; the signing secret is returned once",
    description=(
        "The URL must reach a public address: loopback, private, link-local, multicast, reserved and "
        "cloud metadata addresses answer 422 `webhook_address_not_allowed` (checked again at each delivery). "
        "An unknown event type answers 422 `unknown_event_type` with `extra.known`, the types there are."
    ),
)
async def create_webhook(
    data: WebhookCreate, request: Request[Any, Any, Any], principal: Principal, db_session: AsyncSession
) -> Response[WebhookCreated]:
    """Subscribe a URL to event types (or `*`). The signing secret is returned this once: every
    delivery is signed with it, retried with backoff until the endpoint answers 2xx."""
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.create_subscription(db_session, data.url, list(data.event_types), principal.key_id),
    )


@get("/webhooks", opt=INTEGRATORS, tags=["integration"], responses=problem_responses(401, 403))
async def list_webhooks(db_session: AsyncSession) -> list[WebhookOut]:
    """The webhook subscriptions: URL, event types, active or not (never the signing secret)."""
    return await service.list_subscriptions(db_session)


@get(
    "/webhooks/{webhook_id:uuid}",
    opt=INTEGRATORS,
    tags=["integration"],
    responses=problem_responses(401, 403, 404, "unknown_webhook"),
)
async def get_webhook(webhook_id: uuid.UUID, db_session: AsyncSession) -> WebhookOut:
    """One webhook subscription: its URL, the event types it receives, whether it is active, and how many of its
    deliveries are in each status (pending, delivered, failed), so a stuck or failing endpoint shows at a glance.
    The signing secret is never shown again after creation; failed deliveries are listed and replayed under
    /v1/webhooks/{webhook_id}/deliveries."""
    return await service.get_subscription(db_session, webhook_id)


@patch(
    "/webhooks/{webhook_id:uuid}",
    opt=INTEGRATORS,
    tags=["integration"],
    responses=problem_responses(400, 401, 403, 404),
    summary="Disable (`active: false`) or enable a subscription",
)
async def update_webhook(webhook_id: uuid.UUID, data: WebhookUpdate, db_session: AsyncSession) -> WebhookOut:
    """Pause (`active: false`) or resume a subscription, or change its event types."""
    return await service.set_enabled(db_session, webhook_id, data.active)


@delete(
    "/webhooks/{webhook_id:uuid}",
    opt=INTEGRATORS,
    tags=["integration"],
    responses=problem_responses(401, 403, 404, "unknown_webhook"),
    summary="Delete a subscription and its deliveries",
)
async def delete_webhook(webhook_id: uuid.UUID, db_session: AsyncSession) -> None:
    """Delete a subscription and its deliveries: nothing more is sent to its URL."""
    await service.delete_subscription(db_session, webhook_id)


@get(
    "/webhooks/{webhook_id:uuid}/deliveries",
    opt=INTEGRATORS,
    tags=["integration"],
    responses=problem_responses(400, 401, 403, 404, "unknown_webhook"),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    db_session: AsyncSession,
    status: Literal["pending", "delivered", "failed"] | None = None,
    cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> DeliveryPage:
    """A subscription's deliveries, newest first: each event sent, its attempts, the endpoint's
    last answer; filter by `status`."""
    return await service.list_deliveries(db_session, webhook_id, status, cursor, limit)


@post(
    "/webhooks/{webhook_id:uuid}/deliveries/{delivery_id:int}/replay",
    opt=INTEGRATORS,
    tags=["integration"],
    status_code=202,
    responses=problem_responses(401, 403, 404, 409, "unknown_delivery"),
)
async def replay_delivery(webhook_id: uuid.UUID, delivery_id: int, db_session: AsyncSession) -> DeliveryOut:
    """Send a delivery again (after the endpoint was fixed): queued at once, answered 202."""
    from app.integration.jobs import deliver

    delivery = await service.replay(db_session, webhook_id, delivery_id)
    enqueue_after_commit(db_session, deliver, delivery.id)
    return delivery


ROUTES = [
    list_events,
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    list_deliveries,
    replay_delivery,
]
