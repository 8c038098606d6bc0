"""Operations endpoints: liveness, readiness (DB + Redis), Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.core.errors import ProblemDocument, problem_response
from app.core.schema import Out


class Health(Out):
    status: str


class Readiness(Out):
    status: str
    database: str
    redis: str


PUBLIC = {"public": True}


@get("/health", opt=PUBLIC, tags=["operations"], summary="Liveness")
async def health() -> Health:
    return Health(status="ok")


@get(
    "/ready",
    opt=PUBLIC,
    tags=["operations"],
    summary="Readiness: database and Redis reachable",
    responses={
        503: ResponseSpec(
            data_container=ProblemDocument, description="Not ready", media_type="application/problem+json"
        )
    },
)
async def ready(state: State, request: Request[Any, Any, Any]) -> Response[Readiness | ProblemDocument]:
    database = redis = "ok"
    try:
        async with state.sessionmaker() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=2)
    except Exception:
        database = "unreachable"
    try:
        await asyncio.wait_for(state.redis.ping(), timeout=2)
    except Exception:
        redis = "unreachable"
    if database == redis == "ok":
        return Response(Readiness(status="ready", database=database, redis=redis))
    return problem_response(
        request,
        status=503,
        code="not_ready",
        title="Service not ready",
        detail=f"database: {database}, redis: {redis}",
        headers={"Retry-After": "2"},
    )  # type: ignore[return-value]


@get("/metrics", opt=PUBLIC, tags=["operations"], summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
async def metrics() -> bytes:
    return bytes(generate_latest())


ROUTES = [health, ready, metrics]
