"""Customers over HTTP: the single record, look-up, merge, the contact-center view.

## Customers

**Look-up.** `GET /v1/customers?email=` | `?phone=` | `?card=` — exactly one key, matched
exactly after normalization (email lower-cased; phone to E.164 with the default region
`OMS_DEFAULT_REGION`, default DE, so `030 1234567` and `+49 30 1234567` are the same
person; card numbers are EAN-13 with prefix 29 and must carry a valid check digit). The
answer is a page of 0 or 1 customers. There is no unfiltered list: customers are not
enumerable. Contacts travel only in query strings and bodies, which are never logged.

**Duplicates.** Creating a customer whose email or phone is known answers 409
`customer_exists` with `extra.existing_customer_id` (and `extra.matched`: email|phone).

**Merge.** `POST /v1/customers/{survivor}/merge {"absorb": id}` (admin, contact_center),
one transaction: the survivor keeps its own data and gains the absorbed record's missing
email/phone and addresses; consent follows the newest decision; the customer-merge flow
(app/flows/customer_merge.py) moves the orders, carts and points; `customer.merged` is
recorded. The absorbed record stays as a tombstone: its id, card number and contacts keep
resolving to the survivor and remain reserved. Reading an absorbed id answers **200 with
the survivor's body** (its `id` is the survivor's, `merged_ids` lists absorbed records)
and a `Content-Location` header naming the survivor — not a redirect status, so POS and
kiosk clients that do not follow redirects still show the right person; every
`/v1/customers/{id}` route acts on the survivor the same way. Repeating a merge that
already happened answers the survivor again.

## Storefront access: the trust boundary

The OMS is not the identity provider. A storefront (web or app key) authenticates its
shoppers itself; then it calls `POST /v1/customer-sessions {"email"|"phone"}` (or
`POST /v1/customers/{id}/tokens` right after creating a record) and receives a customer
token — random, returned once, stored only as a SHA-256, valid for
`OMS_CUSTOMER_TOKEN_TTL_MINUTES` (default 1 day), usable only with the key that obtained
it. To read or change a customer's record (and, in the orders domain, their orders and
carts) a storefront key must send it as `X-Customer-Token`; without it the answer is 403
`customer_token_required`, with a token of someone else (or expired, or another key's)
403 `customer_token_invalid`. A storefront look-up shows only the token's customer.
So the storefront key is trusted to say who logged in, but a bug or a forged id in a
shopper's request cannot reach another customer's data without that customer's token.
contact_center, pos, kiosk and admin keys need no token: staff, or a shopper physically at
the till with their card. Token issuance is not idempotent (a replay store would keep
the secret); a retry simply gets another token.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import CHANNEL_ROLES, CustomerToken, Principal, Role, roles
from app.core.errors import problem_responses
from app.core.idempotency import idempotent
from app.core.pagination import DEFAULT_LIMIT, Limit, Page
from app.core.replicas import REPLICA_READ
from app.core.routes import action
from app.customers import rules, service
from app.customers.schemas import (
    EMAIL,
    Address,
    CustomerCreate,
    CustomerOut,
    CustomerOverview,
    CustomerSessionCreate,
    CustomerTokenOut,
    CustomerUpdate,
    MergeBody,
    SavedAddressOut,
)
from app.flows import customer_merge, customer_search
from app.flows import customer_view as customer_view_flow
from app.flows.customer_search import CustomerMatch
from app.flows.customer_view import CustomerViewOut

READERS = roles(Role.ADMIN, CHANNEL_ROLES)
MERGERS = roles(Role.ADMIN, Role.CONTACT_CENTER)
AGENTS = roles(Role.ADMIN, Role.CONTACT_CENTER)
STOREFRONTS = roles(Role.STOREFRONT)

# A token is a secret: no cache (browser, proxy) may keep the response.
NO_STORE = CacheControlHeader(no_store=True)


@post(
    "/customers",
    opt=READERS,
    summary="Create a customer (issues the loyalty card)",
    responses=problem_responses(400, 409, 422),
)
async def create_customer(
    db_session: AsyncSession, request: Request[Any, Any, Any], principal: Principal, data: CustomerCreate
) -> Response[CustomerOut]:
    return await idempotent(
        db_session, request, principal, lambda: service.create_customer(db_session, principal, data)
    )


@get(
    "/customers",
    opt=READERS | REPLICA_READ,
    summary="Look a customer up by email, phone or card number",
    responses=problem_responses(400, 422),
)
async def find_customers(
    db_session: AsyncSession,
    principal: Principal,
    customer_token: CustomerToken = None,
    email: Annotated[str | None, Parameter(max_length=320, schema_extra=EMAIL["extra"])] = None,
    phone: Annotated[str | None, Parameter(max_length=40)] = None,
    card: Annotated[str | None, Parameter(max_length=40, schema_extra={"pattern": rules.CARD_PATTERN})] = None,
) -> Page[CustomerOut]:
    found = await service.find_customers(db_session, email=email, phone=phone, card=card)
    return Page(items=await service.visible_customers(db_session, principal, customer_token, found))


@get(
    "/customers/{customer_id:uuid}",
    opt=READERS | REPLICA_READ,
    summary="A customer (an absorbed id answers with its survivor)",
    responses=problem_responses(403, 404),
)
async def get_customer(
    db_session: AsyncSession, principal: Principal, customer_id: uuid.UUID, customer_token: CustomerToken = None
) -> Response[CustomerOut]:
    await service.authorize_customer_access(db_session, principal, customer_id, customer_token)
    customer = await service.get_customer(db_session, customer_id)
    headers = {"Content-Location": f"/v1/customers/{customer.id}"} if customer.id != customer_id else {}
    return Response(content=customer, headers=headers)


@patch(
    "/customers/{customer_id:uuid}",
    opt=READERS,
    summary="Change name, contacts, addresses or marketing consent",
    responses=problem_responses(400, 403, 404, 409, 422),
)
async def update_customer(
    db_session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    data: CustomerUpdate,
    customer_token: CustomerToken = None,
) -> CustomerOut:
    await service.authorize_customer_access(db_session, principal, customer_id, customer_token)
    return await service.update_customer(db_session, customer_id, data)


@get(
    "/customers/{customer_id:uuid}/addresses",
    opt=READERS | REPLICA_READ,
    summary="A customer's saved addresses (an order delivers to one by its id)",
    responses=problem_responses(403, 404),
)
async def list_addresses(
    db_session: AsyncSession, principal: Principal, customer_id: uuid.UUID, customer_token: CustomerToken = None
) -> list[SavedAddressOut]:
    """Who may: as for the customer record (a storefront key with the customer's token)."""
    await service.authorize_customer_access(db_session, principal, customer_id, customer_token)
    return await service.list_addresses(db_session, customer_id)


@post(
    "/customers/{customer_id:uuid}/addresses",
    opt=READERS,
    summary="Save an address for the customer (the same place again answers the saved one)",
    responses=problem_responses(400, 403, 404, 422),
)
async def add_address(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    principal: Principal,
    customer_id: uuid.UUID,
    data: Address,
    customer_token: CustomerToken = None,
) -> Response[SavedAddressOut]:
    """Who may: as for the customer record. At most 20 addresses (422 `too_many_addresses`)."""
    await service.authorize_customer_access(db_session, principal, customer_id, customer_token)
    return await idempotent(db_session, request, principal, lambda: service.add_address(db_session, customer_id, data))


@delete(
    "/customers/{customer_id:uuid}/addresses/{address_id:uuid}",
    opt=READERS,
    summary="Forget one of the customer's saved addresses",
    responses=problem_responses(403, 404),
)
async def remove_address(
    db_session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    address_id: uuid.UUID,
    customer_token: CustomerToken = None,
) -> None:
    """Orders already placed keep the address they were delivered to."""
    await service.authorize_customer_access(db_session, principal, customer_id, customer_token)
    await service.remove_address(db_session, customer_id, address_id)


@action(
    "/customers/{customer_id:uuid}/merge",
    opt=MERGERS,
    errors=(400, 404, 409, 422),
    summary="Merge another record of the same person into this one",
)
async def merge_customers(db_session: AsyncSession, customer_id: uuid.UUID, data: MergeBody) -> CustomerOut:
    return await customer_merge.merge_customers(db_session, customer_id, data.absorb)


@get(
    "/customers/{customer_id:uuid}/overview",
    opt=READERS | REPLICA_READ,
    summary="Contact-center view: profile, loyalty balance, order history of every channel",
    responses=problem_responses(400, 403, 404),
)
async def customer_overview(
    db_session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    customer_token: CustomerToken = None,
    history_limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
) -> CustomerOverview:
    await service.authorize_customer_access(db_session, principal, customer_id, customer_token)
    return await customer_merge.customer_overview(db_session, customer_id, history_limit)


@get(
    "/customers/{customer_id:uuid}/view",
    opt=AGENTS,
    summary="Contact center: one customer's whole story in one call",
    responses=problem_responses(400, 403, 404, 422),
)
async def customer_view(
    db_session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Parameter(max_length=400)] = None,
) -> CustomerViewOut:
    """The record; loyalty (available and pending points with each lot's release date, tier
    and progress, upcoming expiries); the open cart; and the orders of every channel, newest
    first, `limit` per page, each with its shipments (carrier, tracking number and link,
    promised and actual dates), pickups (ready, collected, expired) and returns with their
    refunds. An absorbed id answers with its survivor. Roles: admin, contact_center."""
    return await customer_view_flow.customer_view(db_session, principal, customer_id, cursor=cursor, limit=limit)


@get(
    "/customers/search",
    opt=AGENTS,
    summary="Contact center: find a customer by phone, e-mail, card, order number or name prefix",
    responses=problem_responses(400, 422),
)
async def search_customers(
    db_session: AsyncSession,
    principal: Principal,
    q: Annotated[str, Parameter(min_length=2, max_length=320)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Parameter(max_length=400)] = None,
) -> Page[CustomerMatch]:
    """One box for whatever the caller gives: an e-mail (has `@`), a card number (13 digits
    from 29), a phone number (digits, `+`, spaces; normalized as in the look-up), an order
    number (dashes and case ignored; a guest order finds nobody), else the start of a name
    (case-insensitive, by name, paged). Each match says what matched. Roles: admin,
    contact_center (a name search lists people: no channel key may do it)."""
    return await customer_search.search(db_session, principal, q, cursor=cursor, limit=limit)


@post(
    "/customers/{customer_id:uuid}/tokens",
    opt=STOREFRONTS,
    cache_control=NO_STORE,
    summary="Storefront: a customer token for a shopper the storefront has authenticated",
    responses=problem_responses(404),
)
async def issue_customer_token(
    db_session: AsyncSession, principal: Principal, customer_id: uuid.UUID
) -> CustomerTokenOut:
    return await service.issue_customer_token(db_session, principal, customer_id)


@post(
    "/customer-sessions",
    opt=STOREFRONTS,
    cache_control=NO_STORE,
    summary="Storefront: a customer token for the shopper it has just logged in (by email or phone)",
    responses=problem_responses(400, 404, 422),
)
async def start_customer_session(
    db_session: AsyncSession, principal: Principal, data: CustomerSessionCreate
) -> CustomerTokenOut:
    return await service.start_customer_session(db_session, principal, email=data.email, phone=data.phone)


ROUTES: list[object] = [
    create_customer,
    find_customers,
    get_customer,
    update_customer,
    list_addresses,
    add_address,
    remove_address,
    merge_customers,
    customer_overview,
    search_customers,
    customer_view,
    issue_customer_token,
    start_customer_session,
]
