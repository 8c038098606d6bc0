"""Idempotency-Key through real HTTP handling on the kernel pieces, with the effect counted in the DB."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import msgspec
from litestar import Litestar, Request, Response, post
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import outbox
from app.core.auth import ALL_ROLES, ApiKeyMiddleware, Principal, roles, roles_guard
from app.core.deps import DEPENDENCIES
from app.core.errors import EXCEPTION_HANDLERS
from app.core.idempotency import idempotent
from app.core.models import OutboxEvent
from app.core.schema import Body, Out
from tests.conftest import make_keys


class NoteIn(Body):
    text: str


class NoteOut(Out):
    id: str
    text: str


@post("/v1/notes", opt=roles(ALL_ROLES))
async def create_note(
    data: NoteIn, request: Request[Any, Any, Any], principal: Principal, db_session: AsyncSession
) -> Response[NoteOut]:
    async def create() -> NoteOut:
        note_id = str(uuid.uuid4())
        await outbox.record(
            db_session, "note.created", aggregate_type="note", aggregate_id=note_id, payload={"text": data.text}
        )
        await asyncio.sleep(0.05)  # widen the race window
        return NoteOut(id=note_id, text=data.text)

    return await idempotent(db_session, request, principal, create)


def note_app(maker: async_sessionmaker[AsyncSession]) -> Litestar:
    return Litestar(
        route_handlers=[create_note],
        guards=[roles_guard],
        state=State({"sessionmaker": maker}),
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(ApiKeyMiddleware)],
    )


async def _count_notes(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).where(OutboxEvent.type == "note.created")) or 0)


async def test_same_key_same_body_replays_first_response(db_maker: async_sessionmaker[AsyncSession]) -> None:
    async with db_maker() as session:
        keys = await make_keys(session)
    transport = httpx.ASGITransport(app=note_app(db_maker))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {"Authorization": f"Bearer {keys['storefront']}", "Idempotency-Key": "k-1"}
        first = await client.post("/v1/notes", json={"text": "hello"}, headers=headers)
        again = await client.post("/v1/notes", json={"text": "hello"}, headers=headers)
        other = await client.post("/v1/notes", json={"text": "bye"}, headers=headers)
        fresh = await client.post("/v1/notes", json={"text": "hello"}, headers={**headers, "Idempotency-Key": "k-2"})
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert fresh.json()["id"] != first.json()["id"]
    assert await _count_notes(db_maker) == 2


async def test_keys_are_scoped_per_api_key(db_maker: async_sessionmaker[AsyncSession]) -> None:
    async with db_maker() as session:
        keys = await make_keys(session)
    transport = httpx.ASGITransport(app=note_app(db_maker))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        a = await client.post(
            "/v1/notes",
            json={"text": "x"},
            headers={"Authorization": f"Bearer {keys['storefront']}", "Idempotency-Key": "same"},
        )
        b = await client.post(
            "/v1/notes",
            json={"text": "x"},
            headers={"Authorization": f"Bearer {keys['app']}", "Idempotency-Key": "same"},
        )
    assert a.json()["id"] != b.json()["id"]


async def test_overlong_key_is_400(db_maker: async_sessionmaker[AsyncSession]) -> None:
    async with db_maker() as session:
        keys = await make_keys(session)
    transport = httpx.ASGITransport(app=note_app(db_maker))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post(
            "/v1/notes",
            json={"text": "x"},
            headers={"Authorization": f"Bearer {keys['storefront']}", "Idempotency-Key": "k" * 300},
        )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_idempotency_key"
    assert await _count_notes(db_maker) == 0


async def test_twenty_concurrent_requests_with_one_key_have_one_effect(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async with committed() as session:
        keys = await make_keys(session)
    transport = httpx.ASGITransport(app=note_app(committed))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {"Authorization": f"Bearer {keys['pos']}", "Idempotency-Key": "race"}
        responses = await asyncio.gather(
            *(client.post("/v1/notes", json={"text": "once"}, headers=headers) for _ in range(20))
        )
    assert {r.status_code for r in responses} == {201}
    bodies = {msgspec.json.encode(r.json()) for r in responses}
    assert len(bodies) == 1
    assert await _count_notes(committed) == 1
