"""The catalog over HTTP: categories, products with their variants, variant look-up.

One catalog serves every channel; a product's `not_sold_in` lists the channels where it is
not sold (empty = everywhere). A key bound to a channel (storefront, kiosk, POS, contact
center) lists only the products sold in its channel; get-by-id and the variant look-ups
show every product (a POS must recognise a scanned item even if the web cannot sell it).
Merchandiser and admin keys write; every role reads.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import rules, service
from app.catalog.schemas import (
    CategoryCreate,
    CategoryOut,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    VariantDetail,
)
from app.core.auth import ALL_ROLES, CHANNEL_ROLES, STAFF_ROLES, Channel, Principal, Role, roles
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.core.replicas import REPLICA_READ
from app.flows import endless_aisle as endless_aisle_flow
from app.flows import variant_offer as variant_offer_flow
from app.flows.endless_aisle import AisleOut
from app.flows.variant_offer import VariantOfferOut

WRITERS = roles(STAFF_ROLES)
READERS = roles(ALL_ROLES)
AISLE = roles(Role.ADMIN, CHANNEL_ROLES)

CodeParam = Annotated[str | None, Parameter(max_length=40)]


@post(
    "/categories",
    opt=WRITERS,
    summary="Create a category (under a parent, by code)",
    responses=problem_responses(400, 409, 422),
)
async def create_category(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: CategoryCreate
) -> Response[CategoryOut]:
    return await idempotent(db_session, request, principal, lambda: service.create_category(db_session, data))


@get(
    "/categories",
    opt=READERS | REPLICA_READ,
    summary="The category tree, depth first by path (optionally one subtree)",
    responses=problem_responses(400),
)
async def list_categories(
    db_session: AsyncSession,
    under: Annotated[str | None, Parameter(max_length=40, description="code of a subtree's root")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CategoryOut]:
    return await service.list_categories(db_session, under=under, limit=limit, cursor=cursor)


@post(
    "/products",
    opt=WRITERS,
    summary="Create a product with its variants",
    responses=problem_responses(400, 409, 422),
)
async def create_product(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: ProductCreate
) -> Response[ProductOut]:
    return await idempotent(db_session, request, principal, lambda: service.create_product(db_session, data))


@get(
    "/products",
    opt=READERS | REPLICA_READ,
    summary="List products: by category (with its subtree), by words of the name, oldest first",
    responses=problem_responses(400),
)
async def list_products(
    db_session: AsyncSession,
    principal: Principal,
    category: Annotated[
        str | None, Parameter(max_length=40, description="category code; includes subcategories")
    ] = None,
    q: Annotated[str | None, Parameter(max_length=200, description="words of the name or brand (prefixes)")] = None,
    channel: Annotated[
        Channel | None, Parameter(description="only products sold in this channel (a channel key: always its own)")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ProductOut]:
    sold_in = principal.channel or channel
    return await service.list_products(
        db_session,
        category=category,
        q=q,
        channel=sold_in.value if sold_in else None,
        limit=limit,
        cursor=cursor,
    )


@get(
    "/products/{product_id:uuid}",
    opt=READERS | REPLICA_READ,
    summary="A product with its variants",
    responses=problem_responses(404),
)
async def get_product(db_session: AsyncSession, product_id: uuid.UUID) -> ProductOut:
    return await service.get_product(db_session, product_id)


@patch(
    "/products/{product_id:uuid}",
    opt=WRITERS,
    summary="Change a product; `variants` adds new SKUs and updates this product's",
    responses=problem_responses(400, 404, 409, 422),
)
async def update_product(db_session: AsyncSession, product_id: uuid.UUID, data: ProductUpdate) -> ProductOut:
    return await service.update_product(db_session, product_id, data)


@get(
    "/products/{product_id:uuid}/aisle",
    opt=AISLE,
    summary="Endless aisle: every size of a style — here, at pickup stores nearby, or delivered",
    responses=problem_responses(400, 403, 404, 422),
)
async def endless_aisle(
    db_session: AsyncSession,
    principal: Principal,
    product_id: uuid.UUID,
    store: Annotated[str | None, Parameter(max_length=40)] = None,
    radius_km: Annotated[float, Parameter(gt=0, le=500)] = 25.0,
) -> AisleOut:
    """For a kiosk (or a till) the store is its own; other keys name `store`. Per size:
    `here` (available on this store's shelf now), `nearby` (other pickup stores within
    `radius_km` holding it, nearest first), `delivery` (what the shipping locations can
    send) and `best`, the first of these that has it. 403 for another store than the key's;
    422 `store_required` when the key has no store and none is named."""
    return await endless_aisle_flow.endless_aisle(db_session, principal, product_id, store=store, radius_km=radius_km)


@get(
    "/variants/{sku:str}",
    opt=READERS | REPLICA_READ,
    summary="A variant by SKU, with its product",
    responses=problem_responses(404),
)
async def get_variant(db_session: AsyncSession, sku: str) -> VariantDetail:
    return await service.get_variant(db_session, sku)


@get(
    "/variants/{sku:str}/offer",
    opt=READERS,
    summary="A variant with the price in force (what a storefront or kiosk shows)",
    responses=problem_responses(404, 422),
)
async def variant_offer(
    db_session: AsyncSession,
    principal: Principal,
    sku: Annotated[str, Parameter(min_length=1, max_length=64)],
    zone: Annotated[str | None, Parameter(max_length=40)] = None,
    currency: Annotated[str | None, Parameter(pattern="^[A-Z]{3}$")] = None,
) -> VariantOfferOut:
    """The variant with its product and the price in force now — the zone's own price, else
    the default zone's, exactly as a quote prices one unit before promotions — plus, for staff
    keys, the next scheduled change (`next_amount`, `next_valid_from`; null for storefront and
    kiosk keys, which never see scheduled prices); never the history. The zone: `zone`,
    else a kiosk or POS key's store zone, else `default`; the currency: `currency`, else
    OMS_CURRENCY. 404 `unknown_sku`; 422 `price_not_found` when the SKU has no price yet."""
    return await variant_offer_flow.variant_offer(db_session, principal, sku, zone=zone, currency=currency)


@get(
    "/variants",
    opt=READERS | REPLICA_READ,
    summary="A variant by barcode (what a POS scans): EAN-8, UPC-A, EAN-13 or GTIN-14",
    responses=problem_responses(400, 404, 422),
)
async def find_variant(
    db_session: AsyncSession,
    barcode: Annotated[str, Parameter(min_length=1, max_length=32, schema_extra={"pattern": rules.BARCODE_PATTERN})],
) -> VariantDetail:
    return await service.find_variant_by_barcode(db_session, barcode)


ROUTES: list[Any] = [
    create_category,
    list_categories,
    create_product,
    list_products,
    get_product,
    endless_aisle,
    update_product,
    get_variant,
    variant_offer,
    find_variant,
]
