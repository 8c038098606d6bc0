"""Returns and exchanges over HTTP. Thin: parse, authorize, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import CHANNEL_ROLES, CustomerToken, Principal, Role, roles
from app.core.errors import problem_responses
from app.core.idempotency import IdempotencyKeyHeader, idempotent, key_required
from app.core.pagination import DEFAULT_LIMIT, Limit, Page
from app.core.routes import action
from app.core.schema import Code
from app.flows import exchange, return_and_refund
from app.orders.returns import service
from app.orders.returns.errors import (
    DuplicateLine,
    ExceedsPurchase,
    ImmediateOnlyAtStore,
    LocationDoesNotAcceptReturns,
    NotEligible,
    OrderRequired,
    ReceiptMismatch,
    ReturnOrderNotFound,
    ReturnRace,
    UnknownLocation,
    UnknownOrderLine,
)
from app.orders.returns.rules import Action
from app.orders.returns.schemas import (
    CloseBody,
    CustomerReturnableOut,
    ExchangeCreate,
    PolicyBody,
    PolicyOut,
    ReceiveBody,
    ReturnableOut,
    ReturnCreate,
    ReturnOut,
)

SHOPPERS = roles(Role.ADMIN, CHANNEL_ROLES)
READERS = roles(Role.ADMIN, CHANNEL_ROLES, Role.LOGISTICS)
RECEIVERS = roles(Role.ADMIN, Role.POS, Role.LOGISTICS)
REFUNDERS = roles(Role.ADMIN, Role.POS, Role.CONTACT_CENTER)
DECIDERS = roles(Role.ADMIN, Role.POS, Role.CONTACT_CENTER)
TILLS = roles(Role.ADMIN, Role.POS)
POLICY_WRITERS = roles(Role.ADMIN, Role.MERCHANDISER)


@post(
    "/returns",
    opt=SHOPPERS,
    responses=problem_responses(
        OrderRequired,
        ReturnOrderNotFound,
        "customer_token_required",
        "customer_token_invalid",
        NotEligible,
        ReturnRace,
        "not_shipped",
        ReceiptMismatch,
        ExceedsPurchase,
        UnknownOrderLine,
        DuplicateLine,
        LocationDoesNotAcceptReturns,
        ImmediateOnlyAtStore,
        UnknownLocation,
    ),
    tags=["returns"],
    before_request=key_required,
)
async def create_return(
    data: ReturnCreate,
    request: Request[Any, Any, Any],
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[ReturnOut]:
    """A return authorization (the customer posts the goods back) or an immediate return at
    the caller's store (received and refunded at once). Ineligible lines answer 422 with the
    line's reason as `code` (`return_window_closed`, `not_returnable`, `already_returned`,
    `not_delivered`); more units than bought is 422 `return_exceeds_purchase`; a line of
    another order 422 `unknown_order_line`; a location that does not accept returns 422
    `location_does_not_accept_returns`; a unit another return took meanwhile 409
    `already_returned`. Needs an `Idempotency-Key` (428 without one)."""
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: return_and_refund.create_return(db_session, principal, data, customer_token),
        required=True,
    )


@get(
    "/returns",
    opt=SHOPPERS,
    responses=problem_responses(400, 403, 404, 422, "returns_filter_required"),
    tags=["returns"],
)
async def list_returns(
    principal: Principal,
    db_session: AsyncSession,
    customer_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Parameter(max_length=400)] = None,
    customer_token: CustomerToken = None,
) -> Page[ReturnOut]:
    """The returns and refunds of one order (`order_id`) or of every order of one customer
    (`customer_id`, merged records included), newest first. Exactly one of them, else 422
    `returns_filter_required`. A storefront key needs the customer's `X-Customer-Token`."""
    return await service.list_returns(
        db_session,
        principal,
        customer_id=customer_id,
        order_id=order_id,
        cursor=cursor,
        limit=limit,
        token=customer_token,
    )


@get(
    "/returns/{return_id:uuid}",
    opt=READERS,
    responses=problem_responses(403, 404, "return_not_found"),
    tags=["returns"],
)
async def get_return(
    return_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> ReturnOut:
    """A return: its lines, status, where it was received, the refund per tender and the points
    taken back so far. A logistics key sees the returns received at its location."""
    return await return_and_refund.get_return(db_session, principal, return_id, customer_token)


@action(
    "/returns/{return_id:uuid}/receive",
    opt=RECEIVERS,
    errors=(400, 403, 404, 409, 422, "location_does_not_accept_returns"),
    tags=["returns"],
)
async def receive_return(
    return_id: uuid.UUID, data: ReceiveBody, principal: Principal, db_session: AsyncSession
) -> ReturnOut:
    """The goods arrived here: `restock` puts them back into this location's on_hand,
    `damaged` writes them off."""
    return await service.receive(db_session, principal, return_id, data)


@action(
    "/returns/{return_id:uuid}/refund",
    opt=REFUNDERS,
    errors=(400, 403, 404, 409, 428, "invalid_transition", "return_not_found"),
    tags=["returns"],
    before_request=key_required,
)
async def refund_return(
    return_id: uuid.UUID,
    request: Request[Any, Any, Any],
    principal: Principal,
    db_session: AsyncSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[ReturnOut]:
    """Refund exactly what was paid for the received units to the original tenders. Needs an
    `Idempotency-Key` (428 without one)."""
    return await idempotent(
        db_session,
        request,
        principal,
        lambda: return_and_refund.refund(db_session, principal, return_id),
        200,
        required=True,
    )


@action("/returns/{return_id:uuid}/close", opt=DECIDERS, errors=(400, 403, 404, 409), tags=["returns"])
async def close_return(
    return_id: uuid.UUID, data: CloseBody, principal: Principal, db_session: AsyncSession
) -> ReturnOut:
    """The customer withdrew it or never sent it: the units may be returned again."""
    return await service.close(db_session, principal, return_id, Action.CLOSE, data.reason)


@action("/returns/{return_id:uuid}/reject", opt=DECIDERS, errors=(400, 403, 404, 409), tags=["returns"])
async def reject_return(
    return_id: uuid.UUID, data: CloseBody, principal: Principal, db_session: AsyncSession
) -> ReturnOut:
    """Staff refuse the return before any goods came back. Only a return still requested or authorized can be
    rejected; once goods have been received it is too late (409). The units it held are given back to the order, so
    the customer may ask to return them again, and no refund is made. The reason is kept on the return and in its
    history."""
    return await service.close(db_session, principal, return_id, Action.REJECT, data.reason)


@post(
    "/exchanges",
    opt=TILLS,
    responses=problem_responses(400, 403, 404, 409, 422, 428),
    tags=["returns"],
    before_request=key_required,
)
async def create_exchange(
    data: ExchangeCreate,
    request: Request[Any, Any, Any],
    principal: Principal,
    db_session: AsyncSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[ReturnOut]:
    """Return units and take another variant at once at the caller's store. Needs an
    `Idempotency-Key` (428 without one)."""
    return await idempotent(
        db_session, request, principal, lambda: exchange.create_exchange(db_session, principal, data), required=True
    )


@get(
    "/orders/{order_id:uuid}/returnable",
    opt=SHOPPERS,
    responses=problem_responses(403, 404, "order_not_found"),
    tags=["returns"],
)
async def order_returnable(
    order_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> ReturnableOut:
    """Per line: delivered, returned, what may still come back and what it would refund."""
    return await return_and_refund.returnable(db_session, principal, order_id, customer_token)


@get(
    "/customers/{customer_id:uuid}/returnable-lines",
    opt=SHOPPERS,
    responses=problem_responses(403, 404, "customer_not_found"),
    tags=["returns"],
)
async def customer_returnable_lines(
    customer_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> CustomerReturnableOut:
    """The delivered, not yet returned lines of the customer's recent orders (find the
    customer by card or phone with `GET /v1/customers`)."""
    return await return_and_refund.customer_returnable_lines(db_session, principal, customer_id, customer_token)


@put(
    "/return-policies/{category_code:str}",
    opt=POLICY_WRITERS,
    responses=problem_responses(400, 403),
    tags=["returns"],
)
async def set_return_policy(
    category_code: Annotated[Code, Parameter(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")],
    data: PolicyBody,
    db_session: AsyncSession,
) -> PolicyOut:
    """The return window (days from delivery or pickup) of a category and the categories
    under it that have none of their own; without any policy: 30 days."""
    return await service.set_policy(db_session, category_code, data.days)


@get(
    "/return-policies",
    opt=roles(Role.ADMIN, Role.MERCHANDISER, CHANNEL_ROLES),
    responses=problem_responses(400),
    tags=["returns"],
)
async def list_return_policies(
    db_session: AsyncSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Parameter(max_length=400)] = None,
) -> Page[PolicyOut]:
    """The return windows per category (the longest matching category path wins; 30 days
    where none is set)."""
    return await service.list_policies(db_session, cursor, limit)


ROUTES: list[Any] = [
    create_return,
    list_returns,
    get_return,
    receive_return,
    refund_return,
    close_return,
    reject_return,
    create_exchange,
    order_returnable,
    customer_returnable_lines,
    set_return_policy,
    list_return_policies,
]
