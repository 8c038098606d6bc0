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
    shopper_view, _ = _shopper(principal)
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


# ---- promotions --------------------------------------------------------------------------


@post(
    "/promotions",
    opt=WRITERS,
    summary="Create a promotion (automatic, or unlocked by codes when requires_code)",
    responses=problem_responses(400, 422, "invalid_promotion", "unknown_sku"),
)
async def create_promotion(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: PromotionCreate
) -> Response[PromotionOut]:
    """Create a promotion of a kind (its discount rule), with its target (SKUs, products, categories), schedule,
    channels, loyalty tiers, minimum spend and usage limits. It applies automatically to every matching cart and
    order once started, or, with `requires_code`, only when one of its codes (POST
    /v1/promotions/{promotion_id}/codes) is entered. An inconsistent rule is refused with the list of problems, and
    so is a target SKU the catalog does not know."""

    async def create() -> PromotionOut:
        return _promotion_out(await service.create_promotion(db_session, data))

    return await idempotent(db_session, request, principal, create)


@get(
    "/promotions",
    opt=EVERYONE,
    summary="Promotions, newest first (storefront and kiosk keys: running ones that need no code)",
    responses=problem_responses(400, "invalid_cursor"),
)
async def list_promotions(
    db_session: AsyncSession,
    principal: Principal,
    archived: Annotated[bool, Parameter(description="include archived promotions")] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PromotionOut]:
    """Promotions, newest first, a page at a time; archived ones only with `archived=true`. Storefront and kiosk
    keys see only what a shopper on their channel may: promotions running now that need no code and are open to
    that channel (codes are handed out by the retailer, never listed)."""
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


@get(
    "/promotions/{promotion_id:uuid}",
    opt=EVERYONE,
    summary="A promotion",
    responses=problem_responses(404, "promotion_not_found"),
)
async def get_promotion(db_session: AsyncSession, principal: Principal, promotion_id: uuid.UUID) -> PromotionOut:
    """One promotion with its rule, target, schedule, limits and uses so far. For storefront and kiosk keys, a
    promotion a shopper may not see (it needs a code, is not running, is archived, or is not open to the key's
    channel) is 404."""
    shopper_view, channel = _shopper(principal)
    promotion = await service.get_promotion(
        db_session, promotion_id, shopper_channel=channel, shopper_view=shopper_view
    )
    return _promotion_out(promotion)


@patch(
    "/promotions/{promotion_id:uuid}",
    opt=WRITERS,
    summary="Change a promotion (not its kind)",
    responses=problem_responses(400, 404, 422, "promotion_not_found", "unknown_sku"),
)
async def update_promotion(db_session: AsyncSession, promotion_id: uuid.UUID, data: PromotionUpdate) -> PromotionOut:
    """Change any field of a promotion except its kind; fields left out stay as they are and the result must still
    be a consistent rule. Setting a usage limit counts the uses already made, and a limit below them is refused;
    removing it resets the count. Orders already placed keep the discount they got."""
    return _promotion_out(await service.update_promotion(db_session, promotion_id, data))


@delete(
    "/promotions/{promotion_id:uuid}",
    opt=WRITERS,
    summary="Archive a promotion: it stops applying; orders keep their snapshots",
    responses=problem_responses(404, "promotion_not_found"),
)
async def archive_promotion(db_session: AsyncSession, promotion_id: uuid.UUID) -> None:
    """Archive a promotion for good: it stops applying to carts and new orders, and no more codes can be added.
    Orders that used it keep their snapshot of the discount. Archiving an archived promotion changes nothing."""
    await service.archive_promotion(db_session, promotion_id)


@post(
    "/promotions/{promotion_id:uuid}/codes",
    opt=WRITERS,
    summary="Add one named code, or generate N unique codes (single-use unless max_uses)",
    responses=problem_responses(400, 404, 409, 422, "invalid_codes_request", "promotion_not_found"),
)
async def add_codes(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    promotion_id: uuid.UUID,
    data: CodesCreate,
) -> Response[CodesCreated]:
    """Give a promotion codes that shoppers enter at checkout: either one named `code` of your choosing (unlimited
    uses unless `max_uses`; an existing code is a conflict), or `generate` N unique random codes, single-use unless
    `max_uses`, with an optional prefix and no characters that can be misread (0/O, 1/I). Codes are stored
    upper-case. An archived promotion takes no new codes."""

    async def create() -> CodesCreated:
        codes, max_uses = await service.add_codes(db_session, promotion_id, data)
        return CodesCreated(promotion_id=promotion_id, max_uses=max_uses, codes=codes)

    return await idempotent(db_session, request, principal, create)


@get(
    "/promotions/{promotion_id:uuid}/codes",
    opt=WRITERS,
    summary="A promotion's codes with their uses",
    responses=problem_responses(400, 404, "promotion_not_found"),
)
async def list_codes(
    db_session: AsyncSession, promotion_id: uuid.UUID, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PromotionCodeOut]:
    """A promotion's codes in code order, each with its use limit and how many times it has been used, a page at a
    time."""
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
    responses=problem_responses(
        400,
        403,
        404,
        422,
        "cart_not_found",
        "address_not_found",
        "customer_token_invalid",
        "lines_or_cart",
        "customer_token_required",
        "price_not_found",
        "unknown_sku",
        "unknown_zone",
        "unknown_location",
        "pickup_not_offered",
        "invalid_address",
        "unsupported_currency",
    ),
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
