"""Price zones and prices (with their history) over HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.pricing import service
from app.pricing.controllers.common import EVERYONE, WRITERS, shopper_facing
from app.pricing.models import Price, PriceZone
from app.pricing.schemas import (
    DeliveryFeeOut,
    PriceCreate,
    PriceOut,
    PriceZoneCreate,
    PriceZoneOut,
    PriceZoneUpdate,
    ZoneAreaOut,
)


async def _zones_out(session: AsyncSession, zones: list[PriceZone]) -> list[PriceZoneOut]:
    fees, areas = await service.zone_details(session, [z.code for z in zones])
    return [
        PriceZoneOut(
            code=z.code,
            name=z.name,
            delivery_fees=[DeliveryFeeOut(currency=f.currency, amount=f.amount) for f in fees if f.zone_code == z.code],
            areas=[
                ZoneAreaOut(country=a.country, postal_prefix=a.postal_prefix) for a in areas if a.zone_code == z.code
            ],
            created_at=z.created_at,
        )
        for z in zones
    ]


def _price_out(p: Price) -> PriceOut:
    return PriceOut(
        id=p.id,
        sku=p.sku,
        zone=p.zone_code,
        currency=p.currency,
        amount=p.amount,
        compare_at_amount=p.compare_at_amount,
        valid_from=p.valid_from,
        created_at=p.created_at,
    )


@post(
    "/price-zones",
    opt=WRITERS,
    summary="Create a price zone with its delivery fees and the areas (country, postal prefix) it covers",
    responses=problem_responses(400, 409, 422, "duplicate_currency", "price_zone_exists"),
)
async def create_zone(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: PriceZoneCreate
) -> Response[PriceZoneOut]:
    """Create a price zone: a code and name, at most one delivery fee per currency, and the areas (a country,
    optionally narrowed to a postal-code prefix) whose delivery addresses are priced in it. A code that already
    exists is refused, as is an area that already belongs to another zone (remove it there first). Prices are then
    scheduled per zone with POST /v1/prices; a SKU without a price of its own in a zone falls back to the `default`
    zone's."""

    async def create() -> PriceZoneOut:
        return (await _zones_out(db_session, [await service.create_zone(db_session, data)]))[0]

    return await idempotent(db_session, request, principal, create)


@get("/price-zones", opt=EVERYONE, summary="Price zones by code", responses=problem_responses(400, "invalid_cursor"))
async def list_zones(
    db_session: AsyncSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PriceZoneOut]:
    """All price zones in code order, each with its delivery fees and areas, a page at a time."""
    page = await service.list_zones(db_session, cursor=cursor, limit=limit)
    return Page(items=await _zones_out(db_session, page.items), next_cursor=page.next_cursor)


@get(
    "/price-zones/{code:str}",
    opt=EVERYONE,
    summary="A price zone",
    responses=problem_responses(404, "price_zone_not_found"),
)
async def get_zone(db_session: AsyncSession, code: str) -> PriceZoneOut:
    """One price zone by code, with its delivery fees per currency and the areas (country, postal prefix) it
    covers."""
    return (await _zones_out(db_session, [await service.get_zone(db_session, code)]))[0]


@patch(
    "/price-zones/{code:str}",
    opt=WRITERS,
    summary="Rename a zone or replace its delivery fees or areas",
    responses=problem_responses(400, 404, 422, "price_zone_not_found"),
)
async def update_zone(db_session: AsyncSession, code: str, data: PriceZoneUpdate) -> PriceZoneOut:
    """Change a zone's name, or replace its whole list of delivery fees or of areas; fields left out stay as they
    are. An area already belonging to another zone is refused. Prices already scheduled in the zone are not
    touched."""
    return (await _zones_out(db_session, [await service.update_zone(db_session, code, data)]))[0]


# ---- prices ------------------------------------------------------------------------------


@post(
    "/prices",
    opt=WRITERS,
    summary="Schedule a tax-inclusive price of a SKU in a zone and currency, valid from a time (default now)",
    responses=problem_responses(
        400, 409, 422, "compare_at_not_above_price", "price_in_past", "unknown_sku", "unknown_zone"
    ),
)
async def set_price(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: PriceCreate
) -> Response[PriceOut]:
    """Schedule a SKU's tax-inclusive price in a zone and currency from `valid_from` (default now); the price in
    force is the latest one that has started, so a later-dated row is a price change waiting to happen. History is
    never rewritten: a start in the past is refused, as is a second price of the same SKU, zone and currency
    starting at the same moment. The SKU must be in the catalog and the zone must exist; an optional compare-at
    ("was") price must be above the price. Orders already placed keep the price they were sold at."""

    async def create() -> PriceOut:
        return _price_out(await service.set_price(db_session, data))

    return await idempotent(db_session, request, principal, create)


@get(
    "/prices",
    opt=EVERYONE,
    summary="The price history of a SKU, newest first (storefront and kiosk keys: prices in force, none scheduled)",
    responses=problem_responses(400, "invalid_cursor"),
)
async def price_history(
    db_session: AsyncSession,
    principal: Principal,
    sku: Annotated[str, Parameter(min_length=1, max_length=64)],
    zone: Annotated[str | None, Parameter(max_length=40)] = None,
    currency: Annotated[str | None, Parameter(pattern="^[A-Z]{3}$")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PriceOut]:
    """The prices of one SKU, newest start first, optionally narrowed to a zone and a currency, including prices
    scheduled for later. Storefront and kiosk keys see only prices that have already started, so a shopper cannot
    learn of a price change before it happens."""
    shopper_view, _ = shopper_facing(principal)
    page = await service.price_history(
        db_session, sku, zone=zone, currency=currency, cursor=cursor, limit=limit, shopper_view=shopper_view
    )
    return Page(items=[_price_out(p) for p in page.items], next_cursor=page.next_cursor)


@delete(
    "/prices/{price_id:uuid}",
    opt=WRITERS,
    summary="Withdraw a scheduled price that has not started",
    responses=problem_responses(404, 409, "price_already_effective", "price_not_found"),
)
async def withdraw_price(db_session: AsyncSession, price_id: uuid.UUID) -> None:
    """Delete a scheduled price that has not started yet. A price that is already in force (or was) stays in the
    history, because it explains past orders: schedule a new price instead."""
    await service.withdraw_price(db_session, price_id)
