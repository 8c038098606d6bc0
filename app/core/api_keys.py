"""The admin API of API keys: list, create (the plaintext is shown once), revoke.

Keys are stored as SHA-256 hashes only (app/core/auth.py). A revoked key is refused at once
by the process that revoked it, and by every other process within OMS_KEY_CACHE_SECONDS.
`oms keys list | create | revoke` do the same from the command line.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import auth
from app.core.auth import Channel, Role, roles
from app.core.errors import problem_responses
from app.core.models import ApiKey
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.schema import Body, Code, Out

ADMIN = roles(Role.ADMIN)


class ApiKeyCreate(Body):
    """`channel`: storefront keys `web` (default) or `app`; kiosk, POS and contact-center keys
    have their own. `location`: the store (kiosk, POS) or warehouse (logistics) the key acts for."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    role: Role
    channel: Channel | None = None
    location: Code | None = None


class ApiKeyOut(Out):
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    channel: str | None
    location: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    """`key` is shown this once; only its hash is stored."""

    key: str


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        channel=key.channel,
        location=key.location_code,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@get(
    "/api-keys",
    opt=ADMIN,
    summary="API keys, oldest first (revoked ones too)",
    responses=problem_responses(400, "invalid_cursor"),
)
async def list_api_keys(
    db_session: AsyncSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ApiKeyOut]:
    """The API keys, oldest first, revoked ones too: name, role, binding, prefix, last use. Never
    the key itself."""
    page = await auth.list_keys(db_session, limit=limit, cursor=cursor)
    return Page(items=[key_out(k) for k in page.items], next_cursor=page.next_cursor)


@post(
    "/api-keys",
    opt=ADMIN,
    summary="Create an API key; its plaintext `key` is returned this once",
    description=(
        "Not replayed by Idempotency-Key: a replay would have to store the plaintext. A request "
        "retried after a lost answer creates a second key; revoke the one you did not receive."
    ),
    responses=problem_responses(400, 422, "invalid_key_binding"),
)
async def create_api_key(db_session: AsyncSession, data: ApiKeyCreate) -> Response[ApiKeyCreated]:
    """A new API key with its role and, where the role needs it, channel and location. Its plaintext
    `key` is in this answer only: the service keeps a hash."""
    key, plaintext = await auth.create_key(
        db_session, role=data.role, name=data.name, channel=data.channel, location_code=data.location
    )
    await db_session.refresh(key)  # created_at comes from the database
    fields = {f: getattr(key_out(key), f) for f in ApiKeyOut.__struct_fields__}
    return Response(ApiKeyCreated(**fields, key=plaintext), status_code=201)


@delete(
    "/api-keys/{key_id:uuid}",
    opt=ADMIN,
    summary="Revoke an API key (refused by every process within OMS_KEY_CACHE_SECONDS)",
    responses=problem_responses(404, "api_key_not_found"),
)
async def revoke_api_key(db_session: AsyncSession, request: Request[Any, Any, Any], key_id: uuid.UUID) -> None:
    """Revoke a key: every process refuses it within the key cache time
    (`OMS_KEY_CACHE_SECONDS`)."""
    await auth.revoke_key(db_session, key_id)
    cache: auth.KeyCache | None = getattr(request.app.state, "key_cache", None)
    if cache is not None:
        cache.forget(key_id)


ROUTES: list[Any] = [list_api_keys, create_api_key, revoke_api_key]
