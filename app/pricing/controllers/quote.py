"""`POST /v1/pricing/quote`: the price of a basket, the same body for every channel."""

from __future__ import annotations

import uuid

from litestar import post
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import CustomerToken, Principal
from app.core.errors import problem_responses
from app.core.fulfillment_choice import FulfillmentOut
from app.core.replicas import REPLICA_READ
from app.flows import delivery_promise
from app.flows import quote as quote_flow
from app.pricing import service
from app.pricing.controllers.common import EVERYONE
from app.pricing.schemas import (
    CodeOutcomeOut,
    LineDiscountOut,
    PromotionDiscountOut,
    QuoteLineOut,
    QuoteOut,
    QuoteRequest,
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
