"""Structured JSON logs with a request id, and Prometheus metrics.

Logs never carry query strings or bodies: lookups by email or phone put PII there.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUESTS = Counter("oms_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "oms_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

access_log = logging.getLogger("oms.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key in ("method", "path", "status", "duration_ms", "route"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    import time as _time

    JsonFormatter.converter = _time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "sqlalchemy.engine", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").handlers[:] = []
    logging.getLogger("uvicorn.error").propagate = True


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (or keep the caller's X-Request-ID). The response side (header,
    access log, metrics) is `stamp_response`, a `before_send` hook, because error responses
    raised outside the handler (auth, routing) are sent after this middleware has returned."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started_at"] = time.perf_counter()
        token = request_id_var.set(request_id)
        try:
            await app(scope, receive, send)
        finally:
            request_id_var.reset(token)

    return middleware


async def stamp_response(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: every response carries X-Request-ID and, once its body is
    complete, one access-log line and its metrics."""
    if scope["type"] != ScopeType.HTTP:
        return
    state = scope.setdefault("state", {})
    if message["type"] == "http.response.start":
        state["response_status"] = message["status"]
        request_id = state.get("request_id")
        if request_id:
            MutableScopeHeaders.from_message(message)["x-request-id"] = request_id
    elif message["type"] == "http.response.body" and not message.get("more_body", False):
        _log_request(scope, state)


def _log_request(scope: Scope, state: dict[str, Any]) -> None:
    elapsed = time.perf_counter() - state.get("started_at", time.perf_counter())
    method = str(scope.get("method", "GET"))
    status = state.get("response_status", 500)
    route = str(scope.get("path_template") or "unmatched")
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(elapsed)
    token = request_id_var.set(state.get("request_id"))
    try:
        access_log.info(
            "request",
            extra={
                "method": method,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "route": route,
            },
        )
    finally:
        request_id_var.reset(token)
