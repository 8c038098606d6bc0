"""Journey: a customer brings back part of a web order to a store's till. The POS key alone
finds the order (by its number, by the card, by phone or e-mail), takes the return with a
disposition per line, refunds it and shows the points taken back, as the card's ledger does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxEvent
from app.flows import earn_points
from app.loyalty import service as loyalty
from tests.api.returns.conftest import SHIRT_PRICE, deliver, delivery_body, make_shop, place
from tests.conftest import Api


async def _earn_from_events(db: AsyncSession) -> None:
    """What the relay and `loyalty.earn_for_order` do with the committed events."""
    kinds = loyalty.EARNING_EVENTS
    for event_id in (await db.scalars(select(OutboxEvent.event_id).where(OutboxEvent.type.in_(kinds)))).all():
        await earn_points.earn_for_event(db, str(event_id))
    await db.commit()


async def _web_order(api: Api, db: AsyncSession, *, earn: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    shop = await make_shop(db)
    created = await api.as_("contact_center").post(
        "/v1/customers", json={"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+33 6 12 34 56 78"}
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    token = (await api.as_("storefront").post(f"/v1/customers/{customer['id']}/tokens")).json()["token"]
    order = await place(
        api,
        "storefront",
        delivery_body({shop.small: 2}, 2 * SHIRT_PRICE, customer_id=customer["id"]),
        {"X-Customer-Token": token},
    )
    await deliver(api, order)
    if earn:
        await _earn_from_events(db)
    return customer, order


async def test_a_store_takes_back_a_web_order_with_its_pos_key_only(api: Api, db: AsyncSession) -> None:
    customer, order = await _web_order(api, db)
    pos = api.as_("pos")

    # Found by the receipt's number (any case, dashes ignored), by id, by card, phone or e-mail.
    for number in (order["number"], order["number"].lower()):
        by_number = await pos.get(f"/v1/orders/by-number/{number}")
        assert by_number.status_code == 200, by_number.text
        assert (by_number.json()["id"], by_number.json()["channel"]) == (order["id"], "web")
    by_id = await pos.get(f"/v1/orders/{order['id']}")
    assert by_id.status_code == 200 and by_id.json() == by_number.json()
    assert [ln["sku"] for ln in by_id.json()["lines"]] == ["SHIRT-S"]
    assert (by_id.json()["lines"][0]["quantity"], by_id.json()["total"]) == (2, 2 * SHIRT_PRICE)
    for query in ({"card": customer["card_number"]}, {"phone": "+33612345678"}, {"email": "ADA@example.org"}):
        found = await pos.get("/v1/customers", params=query)
        assert found.status_code == 200, found.text
        assert [c["id"] for c in found.json()["items"]] == [customer["id"]], query
    returnable = (await pos.get(f"/v1/customers/{customer['id']}/returnable-lines")).json()["lines"]
    shown = [(x["order_number"], x["line_no"], x["returnable_quantity"], x["next_unit_refund"]) for x in returnable]
    assert shown == [(order["number"], 1, 2, SHIRT_PRICE)]
    card_before = (await pos.get(f"/v1/loyalty/cards/{customer['card_number']}")).json()
    assert card_before["pending"] == 50  # 50.00 paid, 1 point per unit, pending until the window closes

    # The return at the till: immediate, each line with what happens to the units here.
    no_disposition = await pos.post(
        "/v1/returns",
        json={"order_number": order["number"], "mode": "immediate", "reason": "too small",
              "lines": [{"line_no": 1, "quantity": 1}]},
    )  # fmt: skip
    assert no_disposition.status_code == 422 and no_disposition.json()["code"] == "receipt_mismatch"
    r = await pos.post(
        "/v1/returns",
        json={"order_number": order["number"], "mode": "immediate", "reason": "too small",
              "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    ret = r.json()
    assert (ret["status"], ret["location_code"], ret["order_id"]) == ("refunded", "STORE-TEST", order["id"])
    assert (ret["refund_total"], ret["points_reversed"], ret["points_shortfall"]) == (SHIRT_PRICE, 25, 0)
    assert [(x["kind"], x["amount"]) for x in ret["refunds"]] == [("card", SHIRT_PRICE)]

    card = (await pos.get(f"/v1/loyalty/cards/{customer['card_number']}")).json()
    reversals = [e["points"] for e in card["ledger"]["items"] if e["kind"] == "reverse"]
    assert reversals == [-ret["points_reversed"]]
    assert card["pending"] == 50 - ret["points_reversed"]


async def test_points_earned_after_the_return_are_shown_on_it(api: Api, db: AsyncSession) -> None:
    """The till may take the return before loyalty has earned the delivery's points (the
    earning runs from the delivered event, after commit): the points it will take back are
    reversed as soon as they are earned, and the return then shows them."""
    customer, order = await _web_order(api, db, earn=False)
    pos = api.as_("pos")
    r = await pos.post(
        "/v1/returns",
        json={"order_number": order["number"], "mode": "immediate", "reason": "too small",
              "lines": [{"line_no": 1, "quantity": 1, "disposition": "damaged"}]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["points_reversed"] == 0
    await _earn_from_events(db)
    card = (await pos.get(f"/v1/loyalty/cards/{customer['card_number']}")).json()
    reversals = [e["points"] for e in card["ledger"]["items"] if e["kind"] == "reverse"]
    assert (card["pending"], reversals) == (25, [-25])
    shown = await pos.get(f"/v1/returns/{r.json()['id']}")
    assert shown.status_code == 200 and shown.json()["points_reversed"] == 25


async def test_the_schema_says_when_a_disposition_is_needed(api: Api) -> None:
    schema = (await api.as_("pos").get("/schema/openapi.json")).json()
    line = schema["components"]["schemas"]["ReturnLineIn"]["properties"]["disposition"]
    assert "Required when `mode` is `immediate`" in line["description"]
    assert "disposition" not in schema["components"]["schemas"]["ReturnLineIn"].get("required", [])
