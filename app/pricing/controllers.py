"""Pricing over HTTP: price zones, prices (with their history), promotions and codes, quotes.

Merchandiser and admin keys write. `POST /v1/pricing/quote` is open to every role and
answers the same body for the same input whatever the caller's channel: a channel is not
an input of a price. The one exception is a promotion a merchandiser explicitly
restricted to some channels (off by default); only then does the key's channel matter.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import ALL_ROLES, STAFF_ROLES, CustomerToken, Principal, Role, roles
from app.core.errors import problem_responses
from app.core.fulfillment_choice import FulfillmentOut
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.replicas import REPLICA_READ
from app.flows import delivery_promise
from app.flows import quote as quote_flow
from app.pricing import service
from app.pricing.models import Price, PriceZone, Promotion
from app.pricing.rules import Kind
from app.pricing.schemas import (
    CodeOutcomeOut,
    CodesCreate,
    CodesCreated,
    DeliveryFeeOut,
    LineDiscountOut,
    PriceCreate,
    PriceOut,
    PriceZoneCreate,
    PriceZoneOut,
    PriceZoneUpdate,
    PromotionCodeOut,
    PromotionCreate,
    PromotionDiscountOut,
    PromotionOut,
    PromotionUpdate,
    QuoteLineOut,
    QuoteOut,
    QuoteRequest,
    TargetOut,
    TierOut,
    ZoneAreaOut,
)

WRITERS = roles(STAFF_ROLES)
EVERYONE = roles(ALL_ROLES)
# Keys that sit on shoppers' devices (web, app, kiosk), where a key can be extracted: they
# see only what a shopper may (running promotions needing no code, prices in force); staff
# and back-office keys see everything.
SHOPPER_FACING = frozenset({Role.STOREFRONT, Role.KIOSK})


def _shopper(principal: Principal) -> tuple[bool, str | None]:
    return principal.role in SHOPPER_FACING, principal.channel.value if principal.channel else None


# ---- shaping -----------------------------------------------------------------------------


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


def _promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(
        id=p.id,
        name=p.name,
        kind=Kind(p.kind),
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        priority=p.priority,
        combinable=p.combinable,
        requires_code=p.requires_code,
        currency=p.currency,
        percent_bp=p.percent_bp,
        amount=p.amount,
        fixed_price=p.fixed_price,
        buy_quantity=p.buy_quantity,
        get_quantity=p.get_quantity,
        reward_percent_bp=p.reward_percent_bp,
        tiers=[TierOut(threshold=t, amount=a) for t, a in p.tiers],
        target=TargetOut(skus=p.target_skus, products=p.target_products, categories=p.target_categories),
        min_subtotal=p.min_subtotal,
        min_quantity=p.min_quantity,
        loyalty_tiers=p.loyalty_tiers,
        first_order_only=p.first_order_only,
        channels=p.channels,
        usage_limit=p.usage_limit,
        usage_limit_per_customer=p.usage_limit_per_customer,
        times_used=p.times_used,
        created_at=p.created_at,
        updated_at=p.updated_at,
        archived_at=p.archived_at,
    )


def _quote_out(q: service.Quote, fulfillment: FulfillmentOut | None, cart_id: uuid.UUID | None) -> QuoteOut:
    r = q.result
    return QuoteOut(
        currency=r.currency,
        zone=r.zone,
        priced_at=q.priced_at,
        fulfillment=fulfillment,
        cart_id=cart_id,
        lines=[
            QuoteLineOut(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                compare_at_price=q.compare_at.get(line.sku),
                gross=line.gross,
                discounts=[
                    LineDiscountOut(promotion_id=d.promotion_id, code=d.code, amount=d.amount) for d in line.discounts
                ],
                net=line.net,
            )
            for line in r.lines
        ],
        subtotal=r.subtotal,
        discounts=[
            PromotionDiscountOut(
                promotion_id=d.promotion_id,
                name=q.promotion_names.get(d.promotion_id, ""),
                code=d.code,
                amount=d.amount,
            )
            for d in r.discounts
        ],
        discount_total=r.discount_total,
        delivery_fee=r.delivery_fee,
        delivery_discount=r.delivery_discount,
        delivery=r.delivery,
        total=r.total,
        codes=[
            CodeOutcomeOut(code=c.code, applied=c.applied, reason=c.reason, promotion_id=c.promotion_id)
            for c in r.codes
        ],
    )


# ---- zones -------------------------------------------------------------------------------


@post(
    "/price-zones",
    opt=WRITERS,
    summary="Create a price zone with its delivery fees and the areas (country, postal prefix) it covers",
    responses=problem_responses(400, 409, 422),
)
async def create_zone(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: PriceZoneCreate
) -> Response[PriceZoneOut]:
    async def create() -> PriceZoneOut:
        return (await _zones_out(db_session, [await service.create_zone(db_session, data)]))[0]

    return await idempotent(db_session, request, principal, create)


@get("/price-zones", opt=EVERYONE, summary="Price zones by code", responses=problem_responses(400))
async def list_zones(
    db_session: AsyncSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PriceZoneOut]:
    page = await service.list_zones(db_session, cursor=cursor, limit=limit)
    return Page(items=await _zones_out(db_session, page.items), next_cursor=page.next_cursor)


@get("/price-zones/{code:str}", opt=EVERYONE, summary="A price zone", responses=problem_responses(404))
async def get_zone(db_session: AsyncSession, code: str) -> PriceZoneOut:
    return (await _zones_out(db_session, [await service.get_zone(db_session, code)]))[0]


@patch(
    "/price-zones/{code:str}",
    opt=WRITERS,
    summary="Rename a zone or replace its delivery fees or areas",
    responses=problem_responses(400, 404, 422),
)
async def update_zone(db_session: AsyncSession, code: str, data: PriceZoneUpdate) -> PriceZoneOut:
    return (await _zones_out(db_session, [await service.update_zone(db_session, code, data)]))[0]


# ---- prices ------------------------------------------------------------------------------


@post(
    "/prices",
    opt=WRITERS,
    summary="Schedule a tax-inclusive price of a SKU in a zone and currency, valid from a time (default now)",
    responses=problem_responses(400, 409, 422),
)
async def set_price(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: PriceCreate
) -> Response[PriceOut]:
    async def create() -> PriceOut:
        return _price_out(await service.set_price(db_session, data))

    return await idempotent(db_session, request, principal, create)


@get(
    "/prices",
    opt=EVERYONE,
    summary="The price history of a SKU, newest first (scheduled prices on top; not for storefront/kiosk keys)",
    responses=problem_responses(400),
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
    shopper_view, _ = _shopper(principal)
    page = await service.price_history(
        db_session, sku, zone=zone, currency=currency, cursor=cursor, limit=limit, shopper_view=shopper_view
    )
    return Page(items=[_price_out(p) for p in page.items], next_cursor=page.next_cursor)


@delete(
    "/prices/{price_id:uuid}",
    opt=WRITERS,
    summary="Withdraw a scheduled price that has not started",
    responses=problem_responses(404, 409),
)
async def withdraw_price(db_session: AsyncSession, price_id: uuid.UUID) -> None:
    await service.withdraw_price(db_session, price_id)


# ---- promotions --------------------------------------------------------------------------


@post(
    "/promotions",
    opt=WRITERS,
    summary="Create a promotion (automatic, or unlocked by codes when requires_code)",
    responses=problem_responses(400, 422),
)
async def create_promotion(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: PromotionCreate
) -> Response[PromotionOut]:
    async def create() -> PromotionOut:
        return _promotion_out(await service.create_promotion(db_session, data))

    return await idempotent(db_session, request, principal, create)


@get(
    "/promotions",
    opt=EVERYONE,
    summary="Promotions, newest first (storefront and kiosk keys: running ones that need no code)",
    responses=problem_responses(400),
)
async def list_promotions(
    db_session: AsyncSession,
    principal: Principal,
    archived: Annotated[bool, Parameter(description="include archived promotions")] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PromotionOut]:
    shopper_view, channel = _shopper(principal)
    page = await service.list_promotions(
        db_session,
        cursor=cursor,
        limit=limit,
        archived=archived,
        shopper_channel=channel,
        shopper_view=shopper_view,
    )
    return Page(items=[_promotion_out(p) for p in page.items], next_cursor=page.next_cursor)


@get("/promotions/{promotion_id:uuid}", opt=EVERYONE, summary="A promotion", responses=problem_responses(404))
async def get_promotion(db_session: AsyncSession, principal: Principal, promotion_id: uuid.UUID) -> PromotionOut:
    shopper_view, channel = _shopper(principal)
    promotion = await service.get_promotion(
        db_session, promotion_id, shopper_channel=channel, shopper_view=shopper_view
    )
    return _promotion_out(promotion)


@patch(
    "/promotions/{promotion_id:uuid}",
    opt=WRITERS,
    summary="Change a promotion (not its kind)",
    responses=problem_responses(400, 404, 422),
)
async def update_promotion(db_session: AsyncSession, promotion_id: uuid.UUID, data: PromotionUpdate) -> PromotionOut:
    return _promotion_out(await service.update_promotion(db_session, promotion_id, data))


@delete(
    "/promotions/{promotion_id:uuid}",
    opt=WRITERS,
    summary="Archive a promotion: it stops applying; orders keep their snapshots",
    responses=problem_responses(404),
)
async def archive_promotion(db_session: AsyncSession, promotion_id: uuid.UUID) -> None:
    await service.archive_promotion(db_session, promotion_id)


@post(
    "/promotions/{promotion_id:uuid}/codes",
    opt=WRITERS,
    summary="Add one named code, or generate N unique codes (single-use unless max_uses)",
    responses=problem_responses(400, 404, 409, 422),
)
async def add_codes(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    promotion_id: uuid.UUID,
    data: CodesCreate,
) -> Response[CodesCreated]:
    async def create() -> CodesCreated:
        codes, max_uses = await service.add_codes(db_session, promotion_id, data)
        return CodesCreated(promotion_id=promotion_id, max_uses=max_uses, codes=codes)

    return await idempotent(db_session, request, principal, create)


@get(
    "/promotions/{promotion_id:uuid}/codes",
    opt=WRITERS,
    summary="A promotion's codes with their uses",
    responses=problem_responses(400, 404),
)
async def list_codes(
    db_session: AsyncSession, promotion_id: uuid.UUID, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PromotionCodeOut]:
    page = await service.list_codes(db_session, promotion_id, cursor=cursor, limit=limit)
    return Page(
        items=[
            PromotionCodeOut(code=c.code, promotion_id=c.promotion_id, max_uses=c.max_uses, times_used=c.times_used)
            for c in page.items
        ],
        next_cursor=page.next_cursor,
    )


# ---- quote -------------------------------------------------------------------------------


@post(
    "/pricing/quote",
    opt=EVERYONE | REPLICA_READ,
    status_code=200,
    summary="Price lines or a saved cart for a delivery or pickup choice (nothing is stored)",
    description=(
        "The same input gives the same body whatever the caller's channel. Codes that cannot be used are "
        "reported in `codes` with a reason (`unknown_code`, `code_expired`, `below_minimum`, "
        "`usage_limit_reached`, `not_combinable`, ...), never as an error. Send `lines` or a `cart_id` "
        "(its lines, codes, customer and currency; 404 `cart_not_found`). `fulfillment` takes the order's "
        "shape and is checked as an order checks it (422 `unknown_location`, `pickup_not_offered`, "
        "`invalid_address`; 404 `address_not_found` for a saved address that is not the customer's). "
        "The zone is the explicit `zone`, else the pickup store's, else the delivery address's, else (a cart) "
        "the cart's store, else `default` — the order's own rule, in every channel. A storefront key naming a "
        "customer (or quoting a customer's cart) sends that customer's `X-Customer-Token` "
        "(403 `customer_token_required` / `customer_token_invalid`). "
        "With a fulfillment choice, `promise` answers the earliest delivery day (`promised_by`) or pickup-ready "
        'time (`ready_by`) of the plan an order would get now, per group (README "Delivery promise").'
    ),
    responses=problem_responses(400, 403, 404, 422),
)
async def quote(
    db_session: AsyncSession, principal: Principal, data: QuoteRequest, customer_token: CustomerToken = None
) -> QuoteOut:
    quoted, fulfillment = await quote_flow.quote_request(db_session, principal, data, customer_token)
    out = _quote_out(quoted, fulfillment, data.cart_id)
    lines = [(line.sku, line.quantity) for line in quoted.result.lines]
    out.promise = await delivery_promise.quote_promise(db_session, fulfillment, lines)
    return out


ROUTES: list[Any] = [
    create_zone,
    list_zones,
    get_zone,
    update_zone,
    set_price,
    price_history,
    withdraw_price,
    create_promotion,
    list_promotions,
    get_promotion,
    update_promotion,
    archive_promotion,
    add_codes,
    list_codes,
    quote,
]
