"""HTTP bodies of the event feed and webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from app.core.schema import Body, Out, stated
from app.integration.rules import EVENT_TYPES

# The service answers an unknown type with 422 `unknown_event_type` and the known list; the
# schema lists the same types ("*": all of them).
EventType = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=80,
        pattern=r"^(\*|[a-z_]+(\.[a-z_]+)+)$",
        extra_json_schema=stated(enum=[*EVENT_TYPES, "*"]),
    ),
]
# What `service._check_url` accepts before it looks at the address (422 `invalid_webhook_url`):
# http(s), a host, an optional port, then a path, query or fragment.
WEBHOOK_URL_PATTERN = r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[1-9][0-9]{0,3})?(?:[/?#][^\s]*)?$"


class EventOut(Out):
    event_id: uuid.UUID
    type: str
    schema_version: int
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]


class EventPage(Out):
    items: list[EventOut]
    next_cursor: str | None
    # Pass `next_cursor` back as `after`; when the page is empty, keep polling with the same cursor.


class WebhookCreate(Body):
    url: Annotated[
        str, msgspec.Meta(min_length=8, max_length=2000, extra_json_schema=stated(pattern=WEBHOOK_URL_PATTERN))
    ]
    event_types: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=50)]


class WebhookUpdate(Body):
    active: bool  # false: no new deliveries (disabled); true: enabled again


class WebhookOut(Out):
    id: uuid.UUID
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    deliveries: dict[str, int] | None = None


class WebhookCreated(Out):
    id: uuid.UUID
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    secret: str  # shown once: verify `OMS-Signature` with it


class DeliveryOut(Out):
    id: int
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


class DeliveryPage(Out):
    items: list[DeliveryOut]
    next_cursor: str | None
