"""Litestar dependencies shared by every domain: the request's transaction and its caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.db import run_after_commit_hooks


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed after the handler returns, rolled back if it
    raised. Litestar throws handler exceptions into this generator, and runs the commit
    before the response is sent, so a failed commit becomes an error response."""
    async with state.sessionmaker() as session:
        async with session.begin():
            yield session
        await run_after_commit_hooks(session)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


DEPENDENCIES = {
    "db_session": Provide(provide_db_session),
    "principal": Provide(provide_principal, sync_to_thread=False),
}
