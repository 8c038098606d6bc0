"""Locations over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.replicas import REPLICA_READ
from app.flows import location_setup
from app.inventory import service
from app.inventory.controllers.common import ADMIN, EVERYONE
from app.inventory.schemas import LocationCreate, LocationOut, LocationUpdate


@post("/locations", opt=ADMIN, summary="Create a warehouse or store", responses=problem_responses(400, 409, 422))
async def create_location(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: LocationCreate
) -> Response[LocationOut]:
    return await idempotent(db_session, request, principal, lambda: location_setup.create_location(db_session, data))


@get(
    "/locations",
    opt=EVERYONE | REPLICA_READ,
    summary="Locations by code; filter by kind and capabilities",
    responses=problem_responses(400),
)
async def list_locations(
    db_session: AsyncSession,
    kind: Annotated[str | None, Parameter(pattern="^(warehouse|store)$")] = None,
    ships: bool | None = None,
    pickup: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LocationOut]:
    return await service.list_locations_page(
        db_session, kind=kind, ships=ships, pickup=pickup, limit=limit, cursor=cursor
    )


@get("/locations/{code:str}", opt=EVERYONE | REPLICA_READ, summary="A location", responses=problem_responses(404))
async def get_location(db_session: AsyncSession, code: str) -> LocationOut:
    return await service.get_location(db_session, code)


@patch("/locations/{code:str}", opt=ADMIN, summary="Change a location", responses=problem_responses(400, 404, 422))
async def update_location(db_session: AsyncSession, code: str, data: LocationUpdate) -> LocationOut:
    return await location_setup.update_location(db_session, code, data)


@delete(
    "/locations/{code:str}",
    opt=ADMIN,
    summary="Delete a location that never held stock (else deactivate it)",
    responses=problem_responses(404, 409),
)
async def delete_location(db_session: AsyncSession, code: str) -> None:
    await service.delete_location(db_session, code)
