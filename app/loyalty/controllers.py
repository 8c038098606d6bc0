"""Loyalty cards over HTTP: the card view, its ledger, and staff adjustments.

A card is read by every channel (a POS or kiosk scanning it, the contact center on the
phone); a storefront key (web or app) needs the customer's `X-Customer-Token`, as for
the customer record. Earning and redeeming have no routes of their own: points are
earned when goods are delivered or collected (events), and redeemed as a tender of an
order (the orders domain calls the loyalty service in the order's transaction).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import CHANNEL_ROLES, CustomerToken, Principal, Role, roles
from app.core.errors import problem_responses
from app.core.idempotency import IdempotencyKeyHeader, idempotent, key_required
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.loyalty import service
from app.loyalty.schemas import AdjustmentCreate, AdjustmentOut, CardOut, LedgerEntryOut

READERS = roles(Role.ADMIN, CHANNEL_ROLES)
ADJUSTERS = roles(Role.ADMIN)

# The pattern is stated for clients; the service checks it (and the check digit) and answers 422.
CardPath = Annotated[
    str,
    Parameter(
        min_length=1, max_length=40, description="the 13-digit card number", schema_extra={"pattern": "^[0-9]{13}$"}
    ),
]


@get(
    "/loyalty/cards/{number:str}",
    opt=READERS,
    summary="A loyalty card: available and pending points, tier, progress, expiries, latest ledger rows",
    responses=problem_responses(
        403, 404, 422, "card_not_found", "customer_token_invalid", "customer_token_required", "invalid_card_number"
    ),
)
async def get_card(
    db_session: AsyncSession, principal: Principal, number: CardPath, customer_token: CustomerToken = None
) -> CardOut:
    """A loyalty card as the till or the app shows it: points available and pending (with their
    release dates), tier and progress to the next, points about to expire, the latest ledger
    rows."""
    return await service.card_view(db_session, number, principal=principal, customer_token=customer_token)


@get(
    "/loyalty/cards/{number:str}/ledger",
    opt=READERS,
    summary="The card's points ledger, newest first",
    responses=problem_responses(400, 403, 404, 422, "invalid_card_number", "invalid_cursor"),
)
async def get_ledger(
    db_session: AsyncSession,
    principal: Principal,
    number: CardPath,
    customer_token: CustomerToken = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LedgerEntryOut]:
    """Every movement of the card's points, newest first: earned, pending released, redeemed,
    reversed by returns, expired, adjusted."""
    return await service.ledger(
        db_session, number, limit=limit, cursor=cursor, principal=principal, customer_token=customer_token
    )


@post(
    "/loyalty/cards/{number:str}/adjustments",
    opt=ADJUSTERS,
    summary="Correct a card's points (positive: available at once; negative: only from available points)",
    responses=problem_responses(400, 404, 409, 422, 428, "card_not_found", "insufficient_points", "invalid_points"),
    before_request=key_required,
)
async def create_adjustment(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    number: CardPath,
    data: AdjustmentCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[AdjustmentOut]:
    """A goodwill or correction by staff: positive points are available at once, negative ones come
    from available points only (a balance never goes negative)."""
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: service.adjust(
            db_session,
            card_number=number,
            points=data.points,
            reason=data.reason,
            channel=principal.channel.value if principal.channel else None,
        ),
        required=True,
    )


ROUTES: list[object] = [get_card, get_ledger, create_adjustment]
