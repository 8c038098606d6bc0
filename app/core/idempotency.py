"""`Idempotency-Key` for creating POSTs.

The key's record is inserted in the use case's own transaction, before the work. A
concurrent request with the same key blocks on that row until the first commits, then
replays its stored response; if the first rolls back, the record vanishes with it and
the second does the work. Same key + same body -> the first response; same key + a
different body -> 422 `idempotency_key_reused`. Failed requests store nothing, so a
client may retry them with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.core.auth import Principal
from app.core.errors import Problem
from app.core.models import IdempotencyRecord

T = TypeVar("T")
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Problem):
    status, code, title = 422, "idempotency_key_reused", "Idempotency-Key was used with another request"


class InvalidIdempotencyKey(Problem):
    status, code, title = 400, "invalid_idempotency_key", "Idempotency-Key is not valid"


def request_fingerprint(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).digest()


async def idempotent(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    create: Callable[[], Awaitable[T]],
    status_code: int = 201,
) -> Response[T]:
    """Run `create` once per (key, Idempotency-Key); replay its response to repeats."""
    key = request.headers.get(HEADER)
    if key is None:
        return Response(content=await create(), status_code=status_code)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"use 1 to {MAX_KEY_LENGTH} characters")
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    inserted = await db.fetchval(session, _CLAIM, principal.key_id, key, request.method, request.url.path, fingerprint)
    if inserted is None:
        # A statement of its own sees what the first request committed while this one waited.
        return _replay(await db.fetchrow(session, _RECORD, principal.key_id, key), fingerprint)
    result = await create()
    await db.execute(session, _ANSWER, principal.key_id, key, status_code, msgspec.json.encode(result))
    return Response(content=result, status_code=status_code)


# Driver statements (app.core.db): every creating POST runs them, the order placement included.
_TABLE = IdempotencyRecord.__tablename__
_CLAIM = f"""INSERT INTO {_TABLE} (api_key_id, key, method, path, request_hash) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING RETURNING key"""
_ANSWER = f"UPDATE {_TABLE} SET status_code = $3, response_body = $4 WHERE api_key_id = $1 AND key = $2"
_RECORD = f"SELECT status_code, response_body, request_hash FROM {_TABLE} WHERE api_key_id = $1 AND key = $2"


def _replay(record: Any, fingerprint: bytes) -> Response[Any]:
    """The stored answer of `record` (a row of `_RECORD`, or None)."""
    if record is None or record["status_code"] is None or record["response_body"] is None:
        raise Problem(
            "the first request with this key is still running; retry",
            status=409,
            code="idempotency_in_progress",
            title="Request in progress",
        )
    if record["request_hash"] != fingerprint:
        raise IdempotencyKeyReused("this key was first used with a different request body or path")
    return Response(
        content=record["response_body"],
        status_code=record["status_code"],
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def replay_if_done(
    session: AsyncSession, request: Request[Any, Any, Any], principal: Principal
) -> Response[Any] | None:
    """The stored answer of a finished request with this key, or None. For use cases that
    do costly or outside work (a payment gateway call) before their transaction: a retry
    of a finished request is answered without redoing it."""
    key = request.headers.get(HEADER)
    if key is None or not key.strip() or len(key) > MAX_KEY_LENGTH:
        return None
    record = await db.fetchrow(session, _RECORD, principal.key_id, key)
    if record is None or record["status_code"] is None:
        return None
    return _replay(record, request_fingerprint(request.method, request.url.path, await request.body()))
