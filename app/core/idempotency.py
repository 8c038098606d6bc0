"""`Idempotency-Key` for creating POSTs.

The key's record is inserted in the use case's own transaction, before the work. A
concurrent request with the same key blocks on that row until the first commits, then
replays its stored response; if the first rolls back, the record vanishes with it and
the second does the work. Same key + same body -> the first response; same key + a
different body -> 422 `idempotency_key_reused`. "Same body" means the same JSON value:
bodies are compared parsed and re-encoded canonically (keys sorted, no whitespace), so
`{"a":1,"b":2}` and `{"b": 2, "a": 1}` are one request. Failed requests store nothing
(their transaction rolls back with the key's record), so a client may retry them with the
same key; see README "Idempotency" for the exact rule.

Money-moving creates (orders, returns, refunds, exchanges, loyalty and stock adjustments,
counts, POS sync) call `idempotent(..., required=True)`, declare the header with
`IdempotencyKeyHeader` and check it first with `before_request=key_required`: without a key
they answer 428 `idempotency_key_required`, because a retried request without one would move
the money twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.core.auth import Principal
from app.core.edge import check_request
from app.core.errors import Problem
from app.core.models import IdempotencyRecord

T = TypeVar("T")
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Problem):
    status, code, title = 422, "idempotency_key_reused", "Idempotency-Key was used with another request"


class InvalidIdempotencyKey(Problem):
    status, code, title = 400, "invalid_idempotency_key", "Idempotency-Key is not valid"


class IdempotencyKeyRequired(Problem):
    status, code, title = 428, "idempotency_key_required", "Idempotency-Key is required"


class IdempotencyInProgress(Problem):
    status, code, title = 409, "idempotency_in_progress", "Request in progress"


# The header of a money-moving create, declared required in the OpenAPI schema; the handler
# answers 428 itself when it is missing (`idempotent(..., required=True)`).
IdempotencyKeyHeader = Annotated[
    str | None,
    Parameter(
        header=HEADER,
        required=True,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="a key unique to this operation: a retry with the same key and body replays the first answer",
    ),
]


@dataclass(frozen=True)
class Operation:
    """A create as the idempotency record sees it: the client's key, and what identifies the
    request (method, path, body). An HTTP request is one (`operation_of`); the staff console
    builds its own from a form (the key a hidden field generated with the form, the body the
    use case's input), so a double click replays the first answer as a second API call would."""

    key: str | None
    method: str
    path: str
    body: bytes


async def operation_of(source: Request[Any, Any, Any] | Operation) -> Operation:
    if isinstance(source, Operation):
        return source
    return Operation(source.headers.get(HEADER), source.method, source.url.path, await source.body())


def require_key(request: Request[Any, Any, Any] | Operation) -> str:
    """The request's Idempotency-Key; 428 without one, 400 if it is blank or too long."""
    key = request.key if isinstance(request, Operation) else request.headers.get(HEADER)
    if key is None:
        raise IdempotencyKeyRequired(
            f"send an {HEADER} header (a unique string per operation) so a retry cannot repeat it"
        )
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"use 1 to {MAX_KEY_LENGTH} characters")
    return key


async def key_required(request: Request[Any, Any, Any]) -> None:
    """`before_request=key_required` on a money-moving create: the 428 comes before the body
    is parsed, so a client learns about the missing header whatever else is wrong. A route's
    `before_request` replaces the app's, so this one runs the app's edge checks after it."""
    require_key(request)
    await check_request(request)


def canonical_body(body: bytes) -> bytes:
    """The JSON value of `body`, re-encoded with sorted keys and no whitespace (not JSON:
    the bytes as they came)."""
    if not body:
        return body
    try:
        return msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except msgspec.DecodeError:
        return body


def request_fingerprint(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical_body(body)).digest()


async def idempotent(
    session: AsyncSession,
    request: Request[Any, Any, Any] | Operation,
    principal: Principal,
    create: Callable[[], Awaitable[T]],
    status_code: int = 201,
    *,
    required: bool = False,
) -> Response[T]:
    """Run `create` once per (key, Idempotency-Key); replay its response to repeats. With
    `required`, a request without the header is refused (428)."""
    op = await operation_of(request)
    if op.key is None and not required:
        return Response(content=await create(), status_code=status_code)
    key = require_key(op)
    fingerprint = request_fingerprint(op.method, op.path, op.body)
    inserted = await db.fetchval(session, _CLAIM, principal.key_id, key, op.method, op.path, fingerprint)
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
        raise IdempotencyInProgress("the first request with this key is still running; retry")
    if record["request_hash"] != fingerprint:
        raise IdempotencyKeyReused("this key was first used with a different request body or path")
    return Response(
        content=record["response_body"],
        status_code=record["status_code"],
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def replay_if_done(
    session: AsyncSession, request: Request[Any, Any, Any] | Operation, principal: Principal
) -> Response[Any] | None:
    """The stored answer of a finished request with this key, or None. For use cases that
    do costly or outside work (a payment gateway call) before their transaction: a retry
    of a finished request is answered without redoing it."""
    op = await operation_of(request)
    key = op.key
    if key is None or not key.strip() or len(key) > MAX_KEY_LENGTH:
        return None
    record = await db.fetchrow(session, _RECORD, principal.key_id, key)
    if record is None or record["status_code"] is None:
        return None
    return _replay(record, request_fingerprint(op.method, op.path, op.body))
