"""Facts the OMS owns come from its records: a quote or an order for a known customer is
priced with the tier loyalty holds (never one the caller names), a guest has none, and an
order whose tendered total no longer matches says which promotions and codes applied."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.pricing.rules import Kind
from tests.api.orders.helpers import customer_with_token, random_email
from tests.conftest import Api
from tests.factories.orders import delivery_order, make_shop
from tests.factories.pricing import promotion
from tests.integration.loyalty.cards import earn, new_card

GOLD_SPEND = 150_000  # OMS_LOYALTY_TIERS default: gold from 1,500.00 paid in 12 months


async def _shop_with_gold_offer(db: AsyncSession) -> list[str]:
    shop = await make_shop(db)
    await promotion(db, Kind.ORDER_PERCENT_OFF, name="Gold 20", percent_bp=2000, loyalty_tiers=["gold"])
    await db.flush()
    return shop.skus


def _quote(sku: str, customer: dict[str, object] | None) -> dict[str, object]:
    body: dict[str, object] = {"currency": "EUR", "lines": [{"sku": sku, "quantity": 1}]}
    if customer is not None:
        body["customer"] = customer
    return body


async def test_a_tier_in_the_body_is_refused(api: Api, db: AsyncSession) -> None:
    skus = await _shop_with_gold_offer(db)
    customer_id, _ = await new_card(db)
    for customer in ({"id": str(customer_id), "loyalty_tier": "gold"}, {"loyalty_tier": "gold"}):
        response = await api.as_("contact_center").post("/v1/pricing/quote", json=_quote(skus[0], customer))
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "validation_error"


async def test_the_tier_comes_from_loyalty(api: Api, db: AsyncSession) -> None:
    skus = await _shop_with_gold_offer(db)
    basic_id, _ = await new_card(db, "Basic")
    gold_id, gold_card = await new_card(db, "Gold")
    assert (await earn(db, gold_card, [("l1", GOLD_SPEND)])).tier == "gold"
    caller = api.as_("contact_center")
    totals = {}
    for name, customer in (("guest", None), ("basic", {"id": str(basic_id)}), ("gold", {"id": str(gold_id)})):
        response = await caller.post("/v1/pricing/quote", json=_quote(skus[0], customer))
        assert response.status_code == 200, response.text
        totals[name] = response.json()["total"]
    assert totals == {"guest": 1000, "basic": 1000, "gold": 800}


async def test_a_gold_customers_order_is_priced_as_gold(api: Api, db: AsyncSession) -> None:
    skus = await _shop_with_gold_offer(db)
    gold_id, gold_card = await new_card(db, "Gold")
    await earn(db, gold_card, [("l1", GOLD_SPEND)])
    placed = await api.as_("contact_center").post(
        "/v1/orders", json=delivery_order(skus[:1], 800, customer_id=str(gold_id))
    )
    assert placed.status_code == 201, placed.text
    assert (placed.json()["discount_total"], placed.json()["total"]) == (200, 800)


async def test_a_total_mismatch_names_what_applied_and_which_codes_did_not(api: Api, db: AsyncSession) -> None:
    """A basic customer tenders the gold price (as a quote with a made-up tier would have
    said), with a code that is used up: the 422 tells why the total is another."""
    skus = await _shop_with_gold_offer(db)
    basic_id, _ = await new_card(db, "Basic")
    await promotion(db, Kind.ORDER_AMOUNT_OFF, name="Spent", amount=100, currency="EUR", code="USEDUP", code_max_uses=1)
    await db.flush()
    used = await api.as_("contact_center").post("/v1/orders", json=delivery_order(skus[:1], 900, codes=["usedup"]))
    assert used.status_code == 201, used.text  # the code's only use
    refused = await api.as_("contact_center").post(
        "/v1/orders", json=delivery_order(skus[:1], 700, codes=["usedup"], customer_id=str(basic_id))
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "tenders_do_not_match_total"
    assert (problem["extra"]["total"], problem["extra"]["tendered"]) == (1000, 700)
    assert problem["extra"]["applied_promotions"] == []
    assert problem["extra"]["codes_not_applied"] == [{"code": "USEDUP", "reason": "usage_limit_reached"}]
    assert "USEDUP (usage_limit_reached)" in problem["detail"] and "promotions applied: none" in problem["detail"]


async def test_a_cart_is_priced_with_its_customers_tier(api: Api, db: AsyncSession) -> None:
    """Carts are priced inside orders, which may not read loyalty: the cart endpoints get the
    tier from the quote flow (app/flows/quote.py) — on create, on every change, on assign."""
    skus = await _shop_with_gold_offer(db)
    gold_id, gold_card = await new_card(db, "Gold")
    await earn(db, gold_card, [("l1", GOLD_SPEND)])
    caller = api.as_("contact_center")
    line = {"sku": skus[0], "quantity": 1}
    anonymous = await caller.post("/v1/carts", json={"currency": "EUR", "lines": [line]})
    assert anonymous.status_code == 201, anonymous.text
    assert anonymous.json()["total"] == 1000
    gold = await caller.post("/v1/carts", json={"currency": "EUR", "customer_id": str(gold_id), "lines": [line]})
    assert gold.status_code == 201, gold.text
    assert gold.json()["total"] == 800
    more = await caller.put(f"/v1/carts/{gold.json()['id']}/lines/{skus[0]}", json={"quantity": 2})
    assert more.status_code == 200, more.text
    assert more.json()["total"] == 1600
    assert (await caller.get(f"/v1/carts/{gold.json()['id']}")).json()["total"] == 1600
    basic_id, _ = await new_card(db, "Basic")
    assigned = await caller.post(f"/v1/carts/{anonymous.json()['id']}/assign", json={"customer_id": str(basic_id)})
    assert assigned.status_code in (200, 201), assigned.text
    assert assigned.json()["total"] == 1000


async def test_a_storefront_quotes_for_its_own_shopper_only(api: Api, db: AsyncSession) -> None:
    """A tier-only promotion would tell a storefront key any customer's tier: naming a
    customer needs that customer's token, as every other storefront read of a customer does."""
    skus = await _shop_with_gold_offer(db)
    gold_id, gold_card = await new_card(db, "Gold")
    await earn(db, gold_card, [("l1", GOLD_SPEND)])
    shopper_id, token = await customer_with_token(api, random_email())
    storefront = api.as_("storefront")

    no_token = await storefront.post("/v1/pricing/quote", json=_quote(skus[0], {"id": str(gold_id)}))
    assert no_token.status_code == 403, no_token.text
    assert no_token.json()["code"] == "customer_token_required"
    other_token = await storefront.post(
        "/v1/pricing/quote", json=_quote(skus[0], {"id": str(gold_id)}), headers={"X-Customer-Token": token}
    )
    assert other_token.status_code == 403, other_token.text
    assert other_token.json()["code"] == "customer_token_invalid"
    own = await storefront.post(
        "/v1/pricing/quote", json=_quote(skus[0], {"id": shopper_id}), headers={"X-Customer-Token": token}
    )
    assert own.status_code == 200, own.text
    assert own.json()["total"] == 1000
