"""Transfers over HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import ProblemDeclaration, problem_responses
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.routes import action
from app.inventory import service
from app.inventory.controllers.common import MOVERS, CodeParam, own_location
from app.inventory.schemas import TransferCreate, TransferOut


@post(
    "/transfers",
    opt=MOVERS,
    summary="Plan a transfer between two locations",
    responses=problem_responses(400, 403, 422),
)
async def create_transfer(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: TransferCreate
) -> Response[TransferOut]:
    """Plan a transfer of stock from one location to another."""
    if principal.location_code not in (None, data.from_location, data.to_location):
        principal.require_location(data.from_location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.create_transfer(
            db_session,
            from_location=data.from_location,
            to_location=data.to_location,
            lines=[(line.sku, line.quantity) for line in data.lines],
            note=data.note,
            actor=principal.key_id,
        ),
    )


@get(
    "/transfers",
    opt=MOVERS,
    summary="Transfers, newest first (status=dispatched: in transit)",
    responses=problem_responses(400, 403, "invalid_cursor"),
)
async def list_transfers(
    db_session: AsyncSession,
    principal: Principal,
    status: Annotated[str | None, Parameter(pattern="^(draft|dispatched|received|cancelled)$")] = None,
    location: CodeParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TransferOut]:
    """Transfers between locations, newest first (`status=dispatched`: in transit)."""
    location = own_location(principal, location)
    return await service.list_transfers(db_session, status=status, location_code=location, limit=limit, cursor=cursor)


@get(
    "/transfers/{transfer_id:uuid}",
    opt=MOVERS,
    summary="A transfer",
    responses=problem_responses(403, 404, "transfer_not_found"),
)
async def get_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    """A transfer with its lines and status."""
    return await service.get_transfer(db_session, transfer_id, principal=principal)


def _transfer_action(verb: str, summary: str, *, problems: tuple[ProblemDeclaration, ...] = ()) -> post:
    """A transfer's transition; the service checks the key's location on the transfer it loads."""
    errors = (403, 404, 409, *problems)
    return action(f"/transfers/{{transfer_id:uuid}}/{verb}", opt=MOVERS, errors=errors, summary=summary)


@_transfer_action(
    "dispatch",
    "Dispatch: stock leaves the source (transfer_out) and is in transit to the destination",
    problems=(
        "insufficient_stock",
        "invalid_transfer_transition",
        "transfer_not_found",
    ),
)
async def dispatch_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    """The stock leaves the source (`transfer_out` in its ledger) and is in transit."""
    return await service.dispatch_transfer(db_session, transfer_id, actor=principal.key_id, principal=principal)


@_transfer_action(
    "receive",
    "Receive: the stock arrives at the destination (transfer_in)",
    problems=("transfer_not_found",),
)
async def receive_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    """The stock arrives at the destination (`transfer_in` in its ledger)."""
    return await service.receive_transfer(db_session, transfer_id, actor=principal.key_id, principal=principal)


@_transfer_action("cancel", "Cancel a transfer not yet dispatched", problems=("transfer_not_found",))
async def cancel_transfer(db_session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> TransferOut:
    """Cancel a transfer that has not left yet."""
    return await service.cancel_transfer(db_session, transfer_id, principal=principal)
