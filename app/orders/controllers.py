"""Carts and orders over HTTP. Thin: parse, authorize, call the service, shape the answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import CHANNEL_ROLES, Channel, CustomerToken, Principal, Role, roles
from app.core.errors import InvalidInput, problem_responses
from app.core.idempotency import IdempotencyKeyHeader, idempotent, key_required
from app.core.pagination import DEFAULT_LIMIT, Limit, Page
from app.core.replicas import REPLICA_READ
from app.core.routes import action
from app.core.schema import Code
from app.flows import cancel_order as cancel_order_flow
from app.flows import order_tracking
from app.flows import place_order as place_order_flow
from app.flows import quote as quote_flow
from app.flows.order_tracking import OrderShipmentsOut
from app.orders import service
from app.orders.schemas import (
    CancelBody,
    CartAssign,
    CartCreate,
    CartOut,
    CodeIn,
    HoldCreate,
    HoldLift,
    HoldOut,
    LineIn,
    LineQuantity,
    OrderCreate,
    OrderOut,
    OrderStatusFilter,
    OrderSummary,
    PromoCode,
    Sku,
    TimelineEntryOut,
)

SHOPPERS = roles(Role.ADMIN, CHANNEL_ROLES)
CHANNELS = roles(CHANNEL_ROLES)
HOLDERS = roles(Role.ADMIN, Role.CONTACT_CENTER, Role.INTEGRATION)

# ---- carts --------------------------------------------------------------------------------


@post("/carts", opt=CHANNELS, responses=problem_responses(400, 403, 404, 409, 422), tags=["carts"])
async def create_cart(
    data: CartCreate,
    request: Request[Any, Any, Any],
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> Response[CartOut]:
    """A cart for any channel, anonymous or for a customer (that customer's open cart is reused). A customer has
    one open cart shared by every channel, so creating one for a customer who already has an open cart adds the
    given lines and codes to it (quantities of a SKU add up) instead of starting another. The cart is answered
    priced live: each line's unit price, promotions and codes applied (or why not), and the totals; a cart reserves
    no stock and expires after a period without changes. A storefront key creating a customer's cart needs that
    customer's `X-Customer-Token`; the currency must be one the retailer sells in."""
    return await idempotent(
        db_session, request, principal, lambda: _create_cart(db_session, principal, data, customer_token)
    )


async def _create_cart(session: AsyncSession, principal: Principal, data: CartCreate, token: str | None) -> CartOut:
    """Carts are priced with the customer's facts from the records (app/flows/quote.py)."""
    facts = await quote_flow.customer_facts(session, data.customer_id)
    return await service.create_cart(session, principal, data, token, facts)


@get(
    "/carts/{cart_id:uuid}", opt=SHOPPERS, responses=problem_responses(403, 404, 422, "cart_not_found"), tags=["carts"]
)
async def get_cart(
    cart_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> CartOut:
    """The cart priced live by the price engine. Prices, promotions and codes are worked out again on every read
    with today's prices and the customer's loyalty facts, so the totals can differ from an earlier read; each code
    says whether it applied and why not. A merged, ordered or expired cart is still shown with its status (and the
    cart it was merged into, or the order placed from it). A storefront key reading a customer's cart needs that
    customer's `X-Customer-Token`."""
    facts = await quote_flow.cart_facts(db_session, cart_id)
    return await service.get_cart(db_session, principal, cart_id, customer_token, facts)


@action("/carts/{cart_id:uuid}/lines", opt=CHANNELS, errors=(400, 403, 404, 409, 422), tags=["carts"])
async def add_cart_line(
    cart_id: uuid.UUID,
    data: LineIn,
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> CartOut:
    """Add a quantity of a SKU (a SKU already in the cart adds up). The cart must be open (a merged, ordered or
    expired one is a conflict) and holds a limited number of SKUs and codes; adding a line keeps the cart from
    expiring. Stock is not reserved until the order is placed. Answers the whole cart priced again."""
    facts = await quote_flow.cart_facts(db_session, cart_id)
    return await service.add_line(db_session, principal, cart_id, data.sku, data.quantity, customer_token, facts)


@put(
    "/carts/{cart_id:uuid}/lines/{sku:str}",
    opt=CHANNELS,
    responses=problem_responses(400, 403, 404, 409, 422),
    tags=["carts"],
)
async def set_cart_line(
    cart_id: uuid.UUID,
    sku: Annotated[Sku, Parameter(min_length=1, max_length=64)],
    data: LineQuantity,
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> CartOut:
    """Set a line's quantity; 0 removes it."""
    facts = await quote_flow.cart_facts(db_session, cart_id)
    return await service.set_line(db_session, principal, cart_id, sku, data.quantity, customer_token, facts)


@action(
    "/carts/{cart_id:uuid}/codes",
    opt=CHANNELS,
    errors=(400, 403, 404, 409, 422, "cart_empty", "unknown_promotion_code"),
    tags=["carts"],
)
async def add_cart_code(
    cart_id: uuid.UUID,
    data: CodeIn,
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> CartOut:
    """Apply a promotion code; an unknown code is a 422 `unknown_promotion_code`."""
    facts = await quote_flow.cart_facts(db_session, cart_id)
    return await service.add_code(db_session, principal, cart_id, data.code, customer_token, facts)


@delete(
    "/carts/{cart_id:uuid}/codes/{code:str}",
    opt=CHANNELS,
    status_code=200,
    responses=problem_responses(400, 403, 404, 409, 422, "cart_not_found"),
    tags=["carts"],
)
async def remove_cart_code(
    cart_id: uuid.UUID,
    code: Annotated[PromoCode, Parameter(min_length=1, max_length=40)],
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> CartOut:
    """Take a promotion code off the cart; the cart is priced again without it."""
    facts = await quote_flow.cart_facts(db_session, cart_id)
    return await service.remove_code(db_session, principal, cart_id, code, customer_token, facts)


@action("/carts/{cart_id:uuid}/assign", opt=CHANNELS, errors=(400, 403, 404, 409, 422), tags=["carts"])
async def assign_cart(
    cart_id: uuid.UUID,
    data: CartAssign,
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> CartOut:
    """Give an anonymous cart to a customer; with an open cart already, the lines merge into it."""
    facts = await quote_flow.customer_facts(db_session, data.customer_id)  # the cart's new owner
    return await service.assign(db_session, principal, cart_id, data.customer_id, customer_token, facts)


@get(
    "/customers/{customer_id:uuid}/cart",
    opt=SHOPPERS,
    responses=problem_responses(403, 404, 422, "customer_not_found", "customer_token_required"),
    tags=["carts"],
)
async def customer_cart(
    customer_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> CartOut:
    """The customer's one open cart, whichever channel started it (created empty if none). So a shopper who filled
    a cart on the web finds it in the app, at a kiosk or with the contact center; a customer merged into another
    record gets the surviving record's cart. A storefront key needs the customer's `X-Customer-Token`. The cart is
    answered priced live."""
    facts = await quote_flow.customer_facts(db_session, customer_id)
    return await service.customer_cart(db_session, principal, customer_id, customer_token, facts)


# ---- orders -------------------------------------------------------------------------------


@post(
    "/orders",
    opt=CHANNELS,
    responses=problem_responses(
        400,
        402,
        403,
        404,
        409,
        422,
        428,
        503,
        "card_declined",
        "cart_empty",
        "cart_not_open",
        "customer_token_required",
        "insufficient_points",
        "insufficient_stock",
        "lines_or_cart",
        "payment_gateway_timeout",
        "pickup_not_offered",
        "tender_not_allowed",
        "tenders_do_not_match_total",
        "unknown_promotion_code",
        "unknown_sku",
        "address_not_found",
        "contact_required",
        "invalid_email",
        "invalid_phone",
    ),
    tags=["orders"],
    before_request=key_required,
)
async def place_order(
    data: OrderCreate,
    request: Request[Any, Any, Any],
    principal: Principal,
    state: State,
    customer_token: CustomerToken = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[OrderOut]:
    """Place an order from a cart or explicit lines, with an `Idempotency-Key`.

    The lines are priced as a quote would price them at this moment (prices, promotions and codes, the delivery
    fee), and the tenders must add up to the total: cards are authorized and loyalty points redeemed. Stock is
    reserved at the locations chosen to fulfil each line, and the promotion and code uses are taken; if anything
    fails, nothing is kept and the authorized cards are voided, so a declined card or missing stock leaves no
    half-placed order. A storefront key ordering for a customer needs that customer's `X-Customer-Token`; a cart
    that was ordered cannot be ordered again. The order starts `placed`, priced with per-line snapshots that later
    price changes do not touch."""
    # No request transaction (`db_session`) here: it would stay open, holding a connection and
    # possibly row locks, while the card gateway is called. The flow (app/flows/place_order.py)
    # reads without a transaction, authorizes the cards with none open, then writes the order in
    # one transaction that reserves its stock last, and voids the cards if that fails.
    return await place_order_flow.place_order(state.sessionmaker, request, principal, data, customer_token)


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return clock.ensure_utc(value)
    except ValueError:
        raise InvalidInput(f"{name} needs a timezone offset", field=name) from None


@get(
    "/orders",
    opt=SHOPPERS | REPLICA_READ,
    responses=problem_responses(400, 403, 422, "customer_token_invalid", "invalid_cursor", "invalid_input"),
    tags=["orders"],
)
async def list_orders(
    principal: Principal,
    db_session: AsyncSession,
    customer_id: uuid.UUID | None = None,
    channel: Channel | None = None,
    status: OrderStatusFilter | None = None,
    store: Code | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Parameter(max_length=400)] = None,
    customer_token: CustomerToken = None,
) -> Page[OrderSummary]:
    """Newest first. Storefront keys list one customer's orders: the token's customer
    (`X-Customer-Token` alone is enough; a `customer_id` must be the token's); kiosk/POS keys
    see their store's orders."""
    if customer_id is None and customer_token and principal.role is Role.STOREFRONT:
        customer_id = await service.token_customer(db_session, principal, customer_token)
    return await service.list_orders(
        db_session,
        principal,
        customer_id=customer_id,
        channel=channel.value if channel else None,
        status=status,
        store=store,
        placed_from=_utc(placed_from, "placed_from"),
        placed_to=_utc(placed_to, "placed_to"),
        cursor=cursor,
        limit=limit,
        token=customer_token,
    )


@get(
    "/orders/{order_id:uuid}",
    opt=SHOPPERS | REPLICA_READ,
    responses=problem_responses(403, 404, "customer_token_invalid", "order_not_found"),
    tags=["orders"],
)
async def get_order(
    order_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> OrderOut:
    """An order as the customer and the retailer see it: lines with what was paid, tenders,
    status, fulfillment and delivery. A storefront key needs the customer's `X-Customer-Token`;
    a kiosk key sees its own store's orders."""
    return await service.order_for(db_session, principal, order_id, customer_token)


@get(
    "/orders/{order_id:uuid}/shipments",
    opt=SHOPPERS,
    responses=problem_responses(403, 404, "customer_token_invalid", "customer_token_required", "order_not_found"),
    tags=["orders"],
)
async def order_shipments(
    order_id: uuid.UUID, principal: Principal, db_session: AsyncSession, customer_token: CustomerToken = None
) -> OrderShipmentsOut:
    """Where each part of the order is: per fulfillment order its type (delivery, pickup,
    ship_to_store), status, parcels (carrier, tracking number, tracking link from
    OMS_CARRIER_TRACKING_URLS), promised date and the actual shipped, delivered, ready,
    collected dates. A storefront key reads it with the customer's `X-Customer-Token`
    (403 `customer_token_required` / `customer_token_invalid`); no key or staff ids."""
    return await order_tracking.order_shipments(db_session, principal, order_id, customer_token)


@get(
    "/orders/by-number/{number:str}",
    opt=SHOPPERS | REPLICA_READ,
    responses=problem_responses(403, 404, "order_not_found"),
    tags=["orders"],
)
async def get_order_by_number(
    number: Annotated[str, Parameter(min_length=1, max_length=20)],
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> OrderOut:
    """By the short number on the receipt (case and dashes ignored). Answers the same order as GET
    /v1/orders/{order_id}, with the same rules on who may see it: a storefront key needs the customer's
    `X-Customer-Token`, a kiosk or POS key sees its own store's orders. An unknown number and an order the caller
    may not see are the same 404, so a number reveals nothing about other customers' orders."""
    return await service.order_by_number(db_session, principal, number, customer_token)


@action(
    "/orders/{order_id:uuid}/cancel",
    opt=SHOPPERS,
    errors=(400, 403, 404, 409, 422, "invalid_transition", "nothing_to_cancel"),
    tags=["orders"],
)
async def cancel_order(
    order_id: uuid.UUID,
    data: CancelBody,
    principal: Principal,
    db_session: AsyncSession,
    customer_token: CustomerToken = None,
) -> OrderOut:
    """Cancel the whole order, or some line quantities not yet fulfilled. Units still waiting to be picked are
    given up and their stock reservations released; once units have been picked they can no longer be cancelled
    (409 `invalid_transition`), and asking to cancel nothing cancellable is 409 `nothing_to_cancel`. The card
    authorizations for what was cancelled are released, loyalty points paid with are credited back, and promotion
    and code uses are given back when the whole order is cancelled. An order whose remaining units have all reached
    the customer is completed. A storefront key needs the customer's `X-Customer-Token`."""
    return await cancel_order_flow.cancel_order(
        db_session, principal, order_id, data.reason, data.lines, customer_token
    )


@post(
    "/orders/{order_id:uuid}/holds",
    opt=HOLDERS,
    responses=problem_responses(400, 404, 409, "invalid_transition"),
    tags=["orders"],
)
async def add_hold(order_id: uuid.UUID, data: HoldCreate, principal: Principal, db_session: AsyncSession) -> HoldOut:
    """A typed hold (payment review, fraud review, address check, manual). The order keeps its stock reservations
    but is not released to fulfillment while any hold is open; an order can carry several holds, each recording who
    placed it, from which channel and why. Only an order that is placed, on hold or released to fulfillment but not
    yet (partly) fulfilled can be held, else 409 `invalid_transition`. The hold appears in the order's timeline and
    is announced as `order.hold_added`."""
    return await service.add_hold(db_session, principal, order_id, data.type.value, data.reason)


@action(
    "/orders/{order_id:uuid}/holds/{hold_id:uuid}/lift",
    opt=HOLDERS,
    errors=(400, 404, 409, "hold_already_lifted", "order_not_found"),
    tags=["orders"],
)
async def lift_hold(
    order_id: uuid.UUID, hold_id: uuid.UUID, data: HoldLift, principal: Principal, db_session: AsyncSession
) -> OrderOut:
    """Lifting the last hold releases the order to fulfillment. Lifting records who lifted it, from which channel
    and an optional note, in the order's timeline; other holds still open keep the order on hold. A hold already
    lifted is 409 `hold_already_lifted`. Answers the order as it now stands."""
    return await service.lift_hold(db_session, principal, order_id, hold_id, data.note)


@get(
    "/orders/{order_id:uuid}/timeline",
    opt=SHOPPERS | REPLICA_READ,
    responses=problem_responses(400, 403, 404, "order_not_found"),
    tags=["orders"],
)
async def order_timeline(
    order_id: uuid.UUID,
    principal: Principal,
    db_session: AsyncSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Parameter(max_length=400)] = None,
    customer_token: CustomerToken = None,
) -> Page[TimelineEntryOut]:
    """Every change: what, who (key), which channel, when — oldest first."""
    return await service.timeline(db_session, principal, order_id, customer_token, cursor, limit)


ROUTES: list[Any] = [
    create_cart,
    get_cart,
    add_cart_line,
    set_cart_line,
    add_cart_code,
    remove_cart_code,
    assign_cart,
    customer_cart,
    place_order,
    list_orders,
    get_order,
    order_shipments,
    get_order_by_number,
    cancel_order,
    add_hold,
    lift_hold,
    order_timeline,
]
