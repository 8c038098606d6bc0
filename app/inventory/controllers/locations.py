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


@post(
    "/locations",
    opt=ADMIN,
    summary="Create a warehouse or store",
    responses=problem_responses(
        400,
        409,
        422,
        "invalid_location",
        "invalid_time_zone",
        "location_exists",
        "invalid_promise_settings",
        "unknown_price_zone",
    ),
)
async def create_location(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: LocationCreate
) -> Response[LocationOut]:
    """Create a warehouse or store with its coordinates, time zone and delivery-promise settings (order cut-off,
    handling hours, transit days, shipping days). Capabilities left out take the kind's defaults: a warehouse ships
    (no pickup, no returns, 5000 orders a day); a store offers pickup and takes returns (no shipping, 50 a day). A
    location's `zone` must name an existing price zone, since orders through the location are priced in it; an
    unknown time zone, a kind/capability mismatch or inconsistent promise settings are refused, and so is a code
    already taken. The new location is active and holds no stock."""
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
    """Warehouses and stores in code order, a page at a time, optionally only one kind or only those that ship or
    offer pickup."""
    return await service.list_locations_page(
        db_session, kind=kind, ships=ships, pickup=pickup, limit=limit, cursor=cursor
    )


@get(
    "/locations/{code:str}",
    opt=EVERYONE | REPLICA_READ,
    summary="A location",
    responses=problem_responses(404, "location_not_found"),
)
async def get_location(db_session: AsyncSession, code: str) -> LocationOut:
    """One location by code: its kind, address and coordinates, time zone, capabilities (ships, pickup, accepts
    returns, daily capacity), price zone, whether it is active, and its delivery-promise settings."""
    return await service.get_location(db_session, code)


@patch(
    "/locations/{code:str}",
    opt=ADMIN,
    summary="Change a location",
    responses=problem_responses(400, 404, 422, "location_not_found", "invalid_promise_settings", "unknown_price_zone"),
)
async def update_location(db_session: AsyncSession, code: str, data: LocationUpdate) -> LocationOut:
    """Change any of a location's settings except its code and kind; fields left out stay as they are. The result
    is checked as a whole: capabilities must suit the kind, the promise settings must be consistent, the time zone
    and the price zone must exist. Set `active=false` to take a location that has held stock out of service."""
    return await location_setup.update_location(db_session, code, data)


@delete(
    "/locations/{code:str}",
    opt=ADMIN,
    summary="Delete a location that never held stock (else deactivate it)",
    responses=problem_responses(404, 409, "location_not_found"),
)
async def delete_location(db_session: AsyncSession, code: str) -> None:
    """Delete a location that has never held stock. One with any stock history is refused (409) because its ledger
    explains past orders and counts: deactivate it instead (PATCH with `active=false`)."""
    await service.delete_location(db_session, code)
