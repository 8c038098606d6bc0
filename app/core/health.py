"""Operations endpoints: liveness, readiness (DB + Redis), Prometheus metrics.

`/metrics` tells how the service is used (routes, rates, latencies): it needs an admin or
integration key, like any API call (Prometheus sends it with `authorization: credentials`).
A deployment that would rather scrape without a key sets OMS_METRICS_PORT: each API process
then also serves the metrics, keyless, on that port of OMS_HOST (only the first of several
processes on one host gets the port), which the operator keeps off the public network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from sqlalchemy import select

from app.core.auth import Role, roles, roles_guard
from app.core.errors import ProblemDocument, declare_codes, problem_response, problem_responses
from app.core.schema import Out
from app.core.settings import Settings

log = logging.getLogger(__name__)


class Health(Out):
    status: str


class Readiness(Out):
    status: str
    database: str
    redis: str


PUBLIC = {"public": True}
declare_codes("not_ready", status=503, title="Service not ready")


@get("/health", opt=PUBLIC, tags=["operations"], summary="Liveness: the process answers")
async def health() -> Health:
    """Liveness: the process answers (it checks nothing behind it; `/ready` does)."""
    return Health(status="ok")


@get(
    "/ready",
    opt=PUBLIC,
    tags=["operations"],
    summary="Readiness: database and Redis reachable",
    responses=problem_responses("not_ready"),
)
async def ready(state: State, request: Request[Any, Any, Any]) -> Response[Readiness | ProblemDocument]:
    """Readiness: the database and Redis answer (503 otherwise). A load balancer sends traffic only
    to a ready process."""
    database = redis = "ok"
    try:
        async with state.sessionmaker() as session:
            await asyncio.wait_for(session.execute(select(1)), timeout=2)
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


@get(
    "/metrics",
    opt=roles(Role.ADMIN, Role.INTEGRATION),
    guards=[roles_guard],
    tags=["operations"],
    summary="Prometheus metrics (admin or integration key; keyless on OMS_METRICS_PORT if set)",
    media_type=CONTENT_TYPE_LATEST,
    responses=problem_responses(401, 403),
)
async def metrics() -> bytes:
    """Prometheus metrics: requests, latencies, pool use, job queues."""
    return bytes(generate_latest())


def serve_metrics_port(settings: Settings) -> Callable[[], None] | None:
    """Start the keyless metrics listener of OMS_METRICS_PORT; returns how to stop it (None:
    no port set, or another process of this host serves it already)."""
    if settings.metrics_port is None:
        return None
    try:
        server, _ = start_http_server(settings.metrics_port, addr=settings.host)
    except OSError as exc:
        log.info("metrics port %s not served by this process: %s", settings.metrics_port, exc.strerror)
        return None

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


ROUTES = [health, ready, metrics]
