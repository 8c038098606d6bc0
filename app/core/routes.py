"""Route decorators shared by the controllers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import post

from app.core.errors import ProblemDeclaration, problem_responses


def action(
    path: str,
    *,
    opt: dict[str, Any],
    errors: Sequence[ProblemDeclaration],
    summary: str | None = None,
    tags: list[str] | None = None,
    before_request: Any = None,
    description: str | None = None,
) -> post:
    """`@action(path, opt=roles(...), errors=(404, "order_not_found"))`: a POST that acts on something that
    exists (a state transition, a change): it answers 200 with that thing, never 201, and
    documents the problems it may answer."""
    return post(
        path,
        opt=opt,
        status_code=200,
        summary=summary,
        description=description,
        tags=tags,
        responses=problem_responses(*errors),
        before_request=before_request,
    )
