"""The API tests keep the reference honest: every problem `code` an operation answers in these
tests must be one its route declares (`responses=problem_responses(...)`, the shared ones, or
the overview's). A test whose request gets an undeclared code fails at teardown, naming the
operation and the code to declare.

`OMS_OBSERVED_PROBLEMS=<file>` records every (operation, status, code) seen instead of
failing (one JSON line each): what a route's declaration should list.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from functools import cache

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import PROBLEM_MEDIA_TYPE
from app.core.openapi_docs import SHARED_CODES
from app.main import create_app
from tests.conftest import SETTINGS

Operation = tuple[str, re.Pattern[str], frozenset[str]]


@cache
def operations() -> tuple[Operation, ...]:
    """(name "METHOD /path", path pattern, declared codes) of every documented operation."""
    schema = create_app(SETTINGS, log=False).openapi_schema.to_schema()
    out: list[Operation] = []
    for path, item in schema["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "/?$")
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = {
                code
                for response in operation["responses"].values()
                for code in response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("examples", {})
            }
            out.append((f"{method.upper()} {path}", pattern, frozenset(codes)))
    # Literal segments before parameters: /customers/search before /customers/{id}.
    return tuple(sorted(out, key=lambda op: op[0].count("{")))


def operation_of(method: str, path: str) -> Operation | None:
    return next(
        (op for op in operations() if op[0].split(" ", 1)[0] == method and op[1].match(path)),
        None,
    )


@pytest.fixture
async def client(db_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    """The app over HTTP, watching the problem codes it answers."""
    undeclared: list[str] = []
    record_to = os.environ.get("OMS_OBSERVED_PROBLEMS")

    async def observe(response: httpx.Response) -> None:
        if not response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE):
            return
        await response.aread()
        code = response.json().get("code")
        operation = operation_of(response.request.method, response.request.url.path)
        # Problem classes a test defines to inject a failure are named test_*: not the API's.
        if operation is None or code in SHARED_CODES or str(code).startswith("test_"):
            return
        if record_to:
            with open(record_to, "a") as out:
                out.write(json.dumps([operation[0], response.status_code, code]) + "\n")
        elif code not in operation[2]:
            undeclared.append(f"{operation[0]} answered {response.status_code} `{code}`")

    app = create_app(SETTINGS, sessionmaker=db_maker, log=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://oms.test", event_hooks={"response": [observe]}
    ) as c:
        yield c
    if undeclared:
        pytest.fail(
            "undeclared problem codes (add them to the route's responses=problem_responses(...)): "
            + "; ".join(sorted(set(undeclared))),
            pytrace=False,
        )
