"""Availability over HTTP (storefronts, kiosks, apps)."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import problem_responses
from app.core.pagination import Cursor
from app.core.replicas import REPLICA_READ
from app.inventory import service
from app.inventory.controllers.common import EVERYONE
from app.inventory.schemas import AvailabilityOut


@get(
    "/availability",
    opt=EVERYONE | REPLICA_READ,
    summary="Available to promise for up to 200 SKUs: total to ship, and per location (nearest first)",
    description=(
        "A SKU whose product is not sold in the caller's channel reports nothing available "
        "(`reason: not_sold_in_channel`). `available_to_ship` counts every shipping location. "
        "The answer names at most `limit` locations (default 20, max 100) that hold any of the SKUs: "
        "with lat/lon the nearest ones (each with its distance; radius_km keeps only those within it), "
        "else in order of location code; `next_cursor` fetches the next ones. pickup_only keeps pickup "
        "stores. Each location entry carries the delivery promise of an order placed now: `ready_by` "
        "(a pickup store's own stock ready for collection) and `delivery_by` (a shipping location's "
        "earliest delivery day; `country` picks the transit days to that country)."
    ),
    responses=problem_responses(400, 422),
)
async def read_availability(
    db_session: AsyncSession,
    principal: Principal,
    skus: Annotated[str, Parameter(min_length=1, max_length=13_200, description="comma-separated SKUs (max 200)")],
    lat: Annotated[float | None, Parameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Parameter(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Parameter(gt=0, le=20_000)] = None,
    pickup_only: bool = False,
    limit: Annotated[
        int, Parameter(ge=1, le=service.MAX_AVAILABILITY_LOCATIONS, description="locations in the answer")
    ] = service.DEFAULT_AVAILABILITY_LOCATIONS,
    cursor: Cursor = None,
    country: Annotated[
        str | None, Parameter(pattern="^[A-Z]{2}$", description="ISO country of the delivery address: transit days")
    ] = None,
) -> AvailabilityOut:
    wanted = [s.strip() for s in skus.split(",") if s.strip()]
    return await service.availability(
        db_session,
        skus=wanted,
        channel=principal.channel.value if principal.channel else None,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        pickup_only=pickup_only,
        limit=limit,
        cursor=cursor,
        country=country,
    )
