"""Problems answer the service's own codes, never what the shopper typed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import PROBLEM_BASE
from app.pricing import service as pricing
from app.pricing.errors import UsageLimitReached
from app.pricing.rules import Kind
from app.pricing.usecases.quoting import QuoteInput, QuoteLine
from tests.conftest import Api
from tests.factories.orders import make_shop
from tests.factories.pricing import promotion


async def test_a_code_on_an_empty_cart_answers_cart_empty(api: Api, db: AsyncSession) -> None:
    shopper = api.as_("storefront")
    cart = await shopper.post("/v1/carts", json={"currency": "EUR"})
    assert cart.status_code == 201, cart.text
    response = await shopper.post(f"/v1/carts/{cart.json()['id']}/codes", json={"code": "summer10"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "cart_empty"
    assert problem["type"] == PROBLEM_BASE + "cart_empty"
    assert problem["title"] == "The cart has no lines"
    assert problem["extra"]["promotion_code"] == "summer10"


async def test_losing_the_race_for_a_codes_last_use_names_the_limit_not_the_code(db: AsyncSession) -> None:
    """Two orders priced with a single-use code before either took it: the second to redeem
    gets 409 `usage_limit_reached`, the code only as data."""
    shop = await make_shop(db)
    await promotion(db, Kind.ORDER_PERCENT_OFF, code="LASTONE", percent_bp=1000, code_max_uses=1)
    await db.flush()
    request = QuoteInput(currency="EUR", lines=(QuoteLine(shop.skus[0], 1),), codes=("LASTONE",))
    first = await pricing.quote(db, request)
    second = await pricing.quote(db, request)
    assert first.result.discounts and second.result.discounts  # both priced with the code
    await pricing.redeem(db, quote=first, order_id=uuid.uuid4())
    with pytest.raises(UsageLimitReached) as lost:
        await pricing.redeem(db, quote=second, order_id=uuid.uuid4())
    assert lost.value.code == "usage_limit_reached"
    assert lost.value.extra == {"promotion_code": "LASTONE"}
