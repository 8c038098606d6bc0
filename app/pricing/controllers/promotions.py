"""Promotions and their codes over HTTP."""

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
from app.pricing.models import Promotion
from app.pricing.rules import Kind
from app.pricing.schemas import (
    CodesCreate,
    CodesCreated,
    PromotionCodeOut,
    PromotionCreate,
    PromotionOut,
    PromotionUpdate,
    TargetOut,
    TierOut,
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
    shopper_view, channel = shopper_facing(principal)
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
    shopper_view, channel = shopper_facing(principal)
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
