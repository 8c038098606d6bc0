"""API keys: roles, channel and location binding; keys stored as SHA-256 hashes.

Every /v1 route declares who may call it with `opt={"roles": ...}`; the guard denies a
route that forgot to (deny by default). The channel and the store of a request come
from its key, never from its body.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.params import Parameter
from msgspec import Struct
from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.errors import InvalidInput, NotFound, declare_codes
from app.core.models import ApiKey
from app.core.pagination import Keyset, Page

log = logging.getLogger(__name__)

# `last_used_at` is written at most this often per key (and per process): not once per request.
LAST_USED_EVERY = timedelta(minutes=1)

declare_codes("invalid_key_binding")  # InvalidInput refined for key bindings


class Role(StrEnum):
    ADMIN = "admin"
    MERCHANDISER = "merchandiser"
    STOREFRONT = "storefront"
    KIOSK = "kiosk"
    CONTACT_CENTER = "contact_center"
    POS = "pos"
    LOGISTICS = "logistics"
    INTEGRATION = "integration"


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    KIOSK = "kiosk"
    CONTACT_CENTER = "contact_center"
    POS = "pos"


# Which channels a role may be bound to, and whether it must name a location.
ROLE_CHANNELS: dict[Role, frozenset[Channel]] = {
    Role.STOREFRONT: frozenset({Channel.WEB, Channel.APP}),
    Role.KIOSK: frozenset({Channel.KIOSK}),
    Role.POS: frozenset({Channel.POS}),
    Role.CONTACT_CENTER: frozenset({Channel.CONTACT_CENTER}),
}
DEFAULT_CHANNEL: dict[Role, Channel] = {
    Role.KIOSK: Channel.KIOSK,
    Role.POS: Channel.POS,
    Role.CONTACT_CENTER: Channel.CONTACT_CENTER,
    Role.STOREFRONT: Channel.WEB,
}
ROLES_WITH_LOCATION = frozenset({Role.KIOSK, Role.POS, Role.LOGISTICS})

ALL_ROLES = frozenset(Role)
CHANNEL_ROLES = frozenset({Role.STOREFRONT, Role.KIOSK, Role.CONTACT_CENTER, Role.POS})
STAFF_ROLES = frozenset({Role.ADMIN, Role.MERCHANDISER})


# A storefront key acts for one shopper only with that shopper's token (the customers
# service checks it); routes of every domain that read a customer's data take this header.
CustomerToken = Annotated[
    str | None,
    Parameter(header="X-Customer-Token", max_length=200, description="storefront keys: the customer's token"),
]


class Principal(Struct, frozen=True):
    """Who is calling: the key's id, role, and what it is bound to."""

    key_id: uuid.UUID
    role: Role
    channel: Channel | None = None
    location_code: str | None = None
    # The key's name (a staff member's e-mail in the console): who did it, on a timeline a
    # person reads ("rejected by STORE-1 till 2"); never shown to shoppers.
    name: str | None = None

    def require_location(self, location_code: str) -> None:
        """A key bound to a location acts for that location only."""
        if self.location_code is not None and self.location_code != location_code:
            raise PermissionDeniedException(detail="this key acts for another location")


def hash_key(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode()).digest()


def new_key_plaintext(role: Role) -> str:
    return f"oms_{role.value[:4]}_{secrets.token_urlsafe(32)}"


def check_binding(role: Role, channel: Channel | None, location_code: str | None) -> Channel | None:
    """Validate a key's channel/location for its role; return the channel it will carry."""
    allowed = ROLE_CHANNELS.get(role)
    if allowed is None and channel is not None:
        raise InvalidInput(f"role {role} is not bound to a channel", code="invalid_key_binding")
    if allowed is not None:
        channel = channel or DEFAULT_CHANNEL[role]
        if channel not in allowed:
            raise InvalidInput(f"role {role} cannot act for channel {channel}", code="invalid_key_binding")
    if role in ROLES_WITH_LOCATION and not location_code:
        raise InvalidInput(f"role {role} needs a location", code="invalid_key_binding")
    return channel


async def create_key(
    session: AsyncSession,
    *,
    role: Role,
    name: str,
    channel: Channel | None = None,
    location_code: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    channel = check_binding(role, channel, location_code)
    plaintext = new_key_plaintext(role)
    key = ApiKey(
        id=uuid.uuid4(),
        name=name,
        key_hash=hash_key(plaintext),
        prefix=plaintext[:12],
        role=role.value,
        channel=channel.value if channel else None,
        location_code=location_code,
    )
    session.add(key)
    await session.flush()
    return key, plaintext


async def find_principal(session: AsyncSession, plaintext: str) -> Principal | None:
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.role, ApiKey.channel, ApiKey.location_code, ApiKey.name).where(
                ApiKey.key_hash == hash_key(plaintext), ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    return Principal(
        key_id=row.id,
        role=Role(row.role),
        channel=Channel(row.channel) if row.channel else None,
        location_code=row.location_code,
        name=row.name,
    )


class KeyCache:
    """Known keys for a few seconds, so a request costs no database round trip to authenticate.

    The one thing it trades is freshness: a revoked key keeps working for at most `ttl`
    seconds (OMS_KEY_CACHE_SECONDS) in each other process; the process that revokes it
    forgets it at once. Unknown keys are never cached (a new key works at once).
    It also remembers when each key's `last_used_at` was last written, so that happens at
    most once per LAST_USED_EVERY.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, now: Callable[[], float] | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.now = now or (lambda: time.monotonic())  # tests move it
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self._touched: dict[uuid.UUID, float] = {}

    def get(self, key_hash: bytes) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] <= self.now():
            return None
        return entry[0]

    def put(self, key_hash: bytes, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_hash] = (principal, self.now() + self.ttl)

    def forget(self, key_id: uuid.UUID) -> None:
        for digest, (principal, _) in list(self._entries.items()):
            if principal.key_id == key_id:
                del self._entries[digest]

    def touch_due(self, key_id: uuid.UUID) -> bool:
        """True when this key's last use should be written now (then not again for a minute)."""
        now = self.now()
        last = self._touched.get(key_id)
        if last is not None and now - last < LAST_USED_EVERY.total_seconds():
            return False
        if len(self._touched) >= self.max_entries:
            self._touched.clear()
        self._touched[key_id] = now
        return True


async def touch_last_used(maker: async_sessionmaker[AsyncSession], key_id: uuid.UUID) -> None:
    """Record that the key was used (a minute's precision). Best effort: authentication never
    fails because this write did; the request then meets the database problem itself."""
    now = clock.now()
    try:
        async with maker() as session:
            await session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key_id,
                    or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_EVERY),
                )
                .values(last_used_at=now)
            )
            await session.commit()
    except SQLAlchemyError as exc:
        log.warning("could not record an API key's last use: %s", type(exc).__name__)


# ---- managing keys (admin API and `oms keys`) -------------------------------------------------


API_KEYS = Keyset("api_keys", datetime, uuid.UUID)


class ApiKeyNotFound(NotFound):
    code, title = "api_key_not_found", "No such API key"


async def list_keys(session: AsyncSession, *, limit: int, cursor: str | None) -> Page[ApiKey]:
    """Keys oldest first (revoked ones included: their revocation time says so)."""
    after = API_KEYS.after(cursor)
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id).limit(limit + 1)
    if after is not None:
        query = query.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(after[0], after[1]))
    rows = list((await session.scalars(query)).all())
    return API_KEYS.page(rows, limit, lambda k: [k.created_at, k.id])


async def revoke_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key (again: nothing changes). Other processes refuse it within their cache's TTL."""
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise ApiKeyNotFound("no such API key")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await session.flush()
    return key


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException(detail="send 'Authorization: Bearer <api key>'")
        cache: KeyCache | None = getattr(connection.app.state, "key_cache", None)
        digest = hash_key(token)
        principal = cache.get(digest) if cache else None
        if principal is None:
            async with connection.app.state.sessionmaker() as session:
                principal = await find_principal(session, token)
            if principal is None:
                raise NotAuthorizedException(detail="unknown or revoked API key")
            if cache:
                cache.put(digest, principal)
        if cache and cache.touch_due(principal.key_id):
            await touch_last_used(connection.app.state.sessionmaker, principal.key_id)
        return AuthenticationResult(user=principal, auth=token)


async def roles_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    # async on purpose: Litestar runs a sync guard in a worker thread, on every request.
    roles: Iterable[Role] | None = handler.opt.get("roles")
    if roles is None:
        if handler.opt.get("public"):
            return
        raise PermissionDeniedException(detail="route declares no roles")
    principal = connection.user
    if not isinstance(principal, Principal) or principal.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise PermissionDeniedException(detail=f"this key's role may not do this; roles allowed: {allowed}")


def roles(*allowed: Role | Iterable[Role]) -> dict[str, Any]:
    """`@get(..., opt=roles(Role.ADMIN, CHANNEL_ROLES))` — the route's allowed roles."""
    flat: set[Role] = set()
    for item in allowed:
        if isinstance(item, Role):
            flat.add(item)
        else:
            flat.update(item)
    return {"roles": frozenset(flat)}
