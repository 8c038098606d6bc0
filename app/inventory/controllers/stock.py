"""Stock over HTTP: levels, adjustments, counts, safety stock, the ledger, POS sync."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal, Role, roles
from app.core.errors import InvalidInput, problem_responses
from app.core.idempotency import IdempotencyKeyHeader, idempotent, key_required
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.inventory import service
from app.inventory.controllers.common import (
    ADJUSTERS,
    COUNTERS,
    LEDGER_READERS,
    STOCK_READERS,
    SYNCERS,
    CodeParam,
    SkuParam,
    own_location,
)
from app.inventory.schemas import (
    AdjustmentCreate,
    CountCreate,
    LedgerEntryOut,
    OnHandAtOut,
    SafetyStockUpdate,
    StockLevelOut,
    SyncBatch,
    SyncOut,
)


@get(
    "/stock",
    opt=STOCK_READERS,
    summary="Stock levels by SKU and/or location (available = on_hand - reserved - safety_stock, never below 0)",
    responses=problem_responses(400, 403),
)
async def list_stock(
    db_session: AsyncSession,
    principal: Principal,
    sku: SkuParam = None,
    location: CodeParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[StockLevelOut]:
    """Stock levels by SKU and/or location: on hand, reserved, safety stock and available (on hand −
    reserved − safety stock, never below 0)."""
    location = own_location(principal, location)
    return await service.stock_levels(db_session, sku=sku, location_code=location, limit=limit, cursor=cursor)


@post(
    "/stock/adjustments",
    opt=ADJUSTERS,
    summary="Change on_hand by a delta with a reason (receipt, return_restock, damage, correction)",
    responses=problem_responses(
        400, 403, 409, 422, 428, "invalid_reason", "on_hand_would_go_negative", "unknown_location", "unknown_sku"
    ),
    before_request=key_required,
)
async def create_adjustment(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    data: AdjustmentCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[StockLevelOut]:
    """Change a location's on hand by a delta with a reason (receipt, return_restock, damage,
    correction): one ledger row each."""
    principal.require_location(data.location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.adjust(
            db_session,
            sku=data.sku,
            location_code=data.location,
            delta=data.delta,
            reason=data.reason,
            reference=data.reference,
            actor=principal.key_id,
        ),
        required=True,
    )


@post(
    "/stock/counts",
    opt=COUNTERS,
    summary="Cycle count: set absolute on_hand; the ledger records the difference",
    responses=problem_responses(400, 403, 409, 422, 428, "counted_in_future", "counted_too_long_ago", "duplicate_line"),
    before_request=key_required,
)
async def create_count(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    data: CountCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[list[StockLevelOut]]:
    """A cycle count: the absolute on hand counted at a location; the ledger records the
    difference."""
    principal.require_location(data.location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.count(
            db_session,
            location_code=data.location,
            lines=[(line.sku, line.on_hand) for line in data.lines],
            counted_at=data.counted_at,
            reference=data.reference,
            actor=principal.key_id,
        ),
        required=True,
    )


@patch(
    "/stock/{location:str}/{sku:str}",
    opt=roles(Role.ADMIN, Role.INTEGRATION),
    summary="Set a SKU's safety stock at a location (null: the location default applies)",
    responses=problem_responses(400, 422),
)
async def set_safety_stock(db_session: AsyncSession, location: str, sku: str, data: SafetyStockUpdate) -> StockLevelOut:
    """The units of a SKU a location keeps off sale (null: the location's default applies)."""
    return await service.set_safety_stock(db_session, sku=sku, location_code=location, safety_stock=data.safety_stock)


@get(
    "/stock/ledger",
    opt=LEDGER_READERS,
    summary="The stock ledger of a location and/or SKU, newest first",
    responses=problem_responses(400, 403, 422, "invalid_cursor", "ledger_filter_required"),
)
async def read_ledger(
    db_session: AsyncSession,
    principal: Principal,
    sku: SkuParam = None,
    location: CodeParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LedgerEntryOut]:
    """The stock ledger of a location and/or SKU, newest first: every change of on hand with its
    reason, reference, who and when."""
    location = own_location(principal, location)
    return await service.ledger(db_session, sku=sku, location_code=location, limit=limit, cursor=cursor)


@get(
    "/stock/on-hand-at",
    opt=LEDGER_READERS,
    summary="on_hand of a SKU at a location as of a past time (from the ledger)",
    responses=problem_responses(400, 403, 422),
)
async def read_on_hand_at(
    db_session: AsyncSession,
    principal: Principal,
    sku: Annotated[str, Parameter(min_length=1, max_length=64)],
    location: Annotated[str, Parameter(min_length=1, max_length=40)],
    at: datetime,
) -> OnHandAtOut:
    """On hand of a SKU at a location as it was at a past time, summed from the ledger."""
    principal.require_location(location)
    if at.tzinfo is None:
        raise InvalidInput("`at` needs a time zone offset", code="naive_time")
    return await service.on_hand_at(db_session, sku=sku, location_code=location, at=at)


@post(
    "/stock/sync",
    opt=SYNCERS,
    status_code=200,
    summary="POS stock sync: a store's counted stock as a batch (up to 10,000 lines); re-sending changes nothing",
    description=(
        "A line counted before a movement already recorded for that SKU at that store is applied as of its "
        "`counted_at`: the change written is the count minus what the ledger held at `counted_at`, so later "
        "sales and receipts stay. A line that would then leave on_hand negative is rejected "
        "(`count_conflicts_with_later_movements`); the other lines apply."
    ),
    responses=problem_responses(400, 403, 422, 428, "batch_too_large", "duplicate_line", "unknown_sku"),
    before_request=key_required,
)
async def sync_stock(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    data: SyncBatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[SyncOut]:
    """A store's POS sends its counted stock as a batch (up to 10,000 lines); the differences go to
    the ledger, and re-sending the same batch changes nothing."""
    principal.require_location(data.location)
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.sync_counts(
            db_session,
            location_code=data.location,
            batch_id=data.batch_id,
            lines=[(line.sku, line.on_hand, line.counted_at) for line in data.lines],
            actor=principal.key_id,
        ),
        200,
        required=True,
    )
