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
from app.core.replicas import Replicas


async def provide_db_session(state: State, request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed after the handler returns, rolled back if it
    raised. Litestar throws handler exceptions into this generator, and runs the commit
    before the response is sent, so a failed commit becomes an error response. A route that
    declares `REPLICA_READ` reads on a usable replica when there is one (app.core.replicas)."""
    if request.route_handler.opt.get("reads") == "replica":
        session = await _replica_session(state)
        if session is not None:
            async with session:
                yield session
                await session.commit()
            return
    async with state.sessionmaker() as session:
        async with session.begin():
            yield session
        await run_after_commit_hooks(session)


async def _replica_session(state: State) -> AsyncSession | None:
    """A session already holding a replica connection in a read-only transaction, or None
    (no replica, none usable, or the one picked could not be reached: read on the primary)."""
    replicas: Replicas | None = state.get("replicas")
    replica = await replicas.pick() if replicas is not None else None
    if replica is None:
        return None
    session = replica.sessionmaker()
    try:
        await session.connection()
    except Exception as error:
        await session.close()
        replica.mark_down(error)
        return None
    return session


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


DEPENDENCIES = {
    "db_session": Provide(provide_db_session),
    "principal": Provide(provide_principal, sync_to_thread=False),
}
