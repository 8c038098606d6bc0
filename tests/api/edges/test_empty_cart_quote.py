"""An empty cart's delivery quote (found by ops/bench/fuzz.py): the delivery promise planned
no lines, skipped every location with no reason and answered 500 (IndexError)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing import service as pricing
from app.pricing.schemas import PriceCreate
from tests.conftest import Api
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive


async def test_an_empty_carts_delivery_quote_answers_without_a_promise_error(api: Api, db: AsyncSession) -> None:
    [sku] = await make_variants(db, 1)
    await make_locations(db, LocationFactory(code="WH-EDGE", kind="warehouse"))
    await receive(db, sku, "WH-EDGE", 5)
    await pricing.set_price(db, PriceCreate(sku=sku, currency="EUR", amount=1000))
    await db.commit()
    pos = api.as_("pos")
    made = await pos.post("/v1/carts", json={"lines": [{"sku": sku, "quantity": 1}]})
    assert made.status_code == 201, made.text
    cart = made.json()
    emptied = await pos.put(f"/v1/carts/{cart['id']}/lines/{sku}", json={"quantity": 0})
    assert emptied.status_code == 200, emptied.text
    to_berlin = {"method": "delivery", "address": {"country": "DE", "postal_code": "10115"}}
    quote = await pos.post("/v1/pricing/quote", json={"cart_id": cart["id"], "fulfillment": to_berlin})
    assert quote.status_code == 200, quote.text
