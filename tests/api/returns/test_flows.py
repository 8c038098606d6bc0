"""Returns end to end through the API, with exact amounts, points and stock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.inventory import service as inventory
from app.loyalty import service as loyalty
from app.orders.models import OrderTender
from app.orders.returns import service as returns
from tests.api.orders.helpers import customer_with_token, random_email
from tests.api.returns.conftest import (
    SHIRT_PRICE,
    collect,
    deliver,
    delivery_body,
    event_types,
    gateway_books,
    ledger,
    make_shop,
    pickup_body,
    place,
    returns_count,
    stock,
)
from tests.conftest import Api


async def tender(db: AsyncSession, tender_id: str) -> OrderTender:
    row = await db.get(OrderTender, uuid.UUID(tender_id), populate_existing=True)
    assert row is not None
    return row


async def test_web_order_delivered_is_returned_at_a_store_till(
    api: Api, db: AsyncSession, db_maker: async_sessionmaker[AsyncSession]
) -> None:
    """Web order delivered from the warehouse -> one unit back at the store's POS: refunded
    to the card, restocked at the store (not the warehouse), its points reversed."""
    shop = await make_shop(db)
    customer_id, token = await customer_with_token(api, random_email())
    card = (await api.as_("contact_center").get(f"/v1/customers/{customer_id}")).json()["card_number"]
    order = await place(
        api,
        "storefront",
        delivery_body({shop.small: 2}, 2 * SHIRT_PRICE, customer_id=customer_id),
        {"X-Customer-Token": token},
    )
    fo = await deliver(api, order)
    # What loyalty's delivered-event consumer does: the line earns on what was paid.
    earned = await loyalty.earn(
        db,
        source_id=fo["id"],
        event_type="fulfillment.delivered",
        card_number=card,
        channel="web",
        lines=[(f"{order['id']}:1", 2 * SHIRT_PRICE)],
        currency="EUR",
        occurred_at=clock.now(),
        order_id=order["id"],
    )
    assert earned.points == 50
    await db.commit()
    assert await stock(db, shop.small, "WH-TEST") == 18

    # At the till: the customer is found by card, the line is returnable.
    lines = (await api.as_("pos").get(f"/v1/customers/{customer_id}/returnable-lines")).json()["lines"]
    assert [(ln["line_no"], ln["returnable_quantity"], ln["next_unit_refund"]) for ln in lines] == [(1, 2, 2500)]

    r = await api.as_("pos").post(
        "/v1/returns",
        json={
            "order_number": order["number"],
            "mode": "immediate",
            "reason": "too small",
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert r.status_code == 201, r.text
    ret = r.json()
    assert (ret["status"], ret["location_code"], ret["refund_total"]) == ("refunded", "STORE-TEST", 2500)
    assert [(x["kind"], x["amount"], x["status"]) for x in ret["refunds"]] == [("card", 2500, "pending")]
    assert ret["lines"][0]["refund_amount"] == 2500 and ret["points_reversed"] == 25
    # Restocked where it came back, with its ledger row; the warehouse is untouched.
    assert await stock(db, shop.small, "STORE-TEST") == 11
    assert (await ledger(db, shop.small, "STORE-TEST"))[-1] == ("return_restock", 1)
    assert await stock(db, shop.small, "WH-TEST") == 18
    view = await loyalty.card_view(db, card)
    assert (view.pending, view.available) == (25, 0)

    # The card is refunded at the gateway after commit (the job's work).
    card_tender = await tender(db, order["tenders"][0]["id"])
    assert card_tender.refunded == 2500
    assert await returns.settle_refunds(db_maker, uuid.UUID(ret["id"])) == 1
    assert await gateway_books(db, card_tender.authorization_id or "") == (5000, 2500)
    assert await returns.settle_refunds(db_maker, uuid.UUID(ret["id"])) == 0  # idempotent
    done = (await api.as_("pos").get(f"/v1/returns/{ret['id']}")).json()
    assert [x["status"] for x in done["refunds"]] == ["done"]

    # Every step is an event and on the order's timeline for the contact center.
    assert await event_types(db, ret["id"]) == [
        "return.requested",
        "return.authorized",
        "return.received",
        "return.refunded",
    ]
    timeline = (await api.as_("contact_center").get(f"/v1/orders/{order['id']}/timeline")).json()["items"]
    assert [e["kind"] for e in timeline if e["kind"].startswith("return_")] == [
        "return_requested",
        "return_authorized",
        "return_received",
        "return_refunded",
    ]
    left = (await api.as_("contact_center").get(f"/v1/orders/{order['id']}/returnable")).json()["lines"]
    assert (left[0]["returned"], left[0]["returnable_quantity"]) == (1, 1)
    assert await inventory.check_integrity(db) == []


async def test_bopis_three_for_two_returns_the_free_unit_first(api: Api, db: AsyncSession) -> None:
    """3 shirts for the price of 2, collected at the store: the first unit back refunds 0,
    the next exactly what a paid unit cost, the last the rest."""
    shop = await make_shop(db, bxgy=True)
    order = await place(api, "app", pickup_body({shop.small: 3}, 2 * SHIRT_PRICE))
    assert order["total"] == 5000 and order["lines"][0]["line_total"] == 5000
    await collect(api, db, order)
    card = order["tenders"][0]

    returnable = (await api.as_("pos").get(f"/v1/orders/{order['id']}/returnable")).json()["lines"][0]
    assert (returnable["next_unit_refund"], returnable["refundable_amount"]) == (0, 5000)

    async def give_back(units: int, disposition: str = "restock") -> dict[str, object]:
        r = await api.as_("pos").post(
            "/v1/returns",
            json={
                "order_id": order["id"],
                "mode": "immediate",
                "reason": "changed mind",
                "lines": [{"line_no": 1, "quantity": units, "disposition": disposition}],
            },
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    free = await give_back(1)
    assert (free["refund_total"], free["refunds"]) == (0, [])
    paid = await give_back(1, "damaged")
    assert (paid["refund_total"], paid["lines"][0]["refund_amount"]) == (2500, 2500)  # type: ignore[index]
    last = await give_back(1)
    assert last["refund_total"] == 2500
    assert (await tender(db, card["id"])).refunded == 5000
    # restock, restock, damaged: on_hand back up by two; the damaged unit is written off
    assert (await ledger(db, shop.small, "STORE-TEST"))[-4:] == [
        ("return_restock", 1),
        ("return_restock", 1),
        ("damage", -1),
        ("return_restock", 1),
    ]
    assert await stock(db, shop.small, "STORE-TEST") == 10 - 3 + 2
    more = await api.as_("pos").post(
        "/v1/returns",
        json={
            "order_id": order["id"],
            "mode": "immediate",
            "reason": "x",
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert (more.status_code, more.json()["code"]) == (422, "already_returned")
    assert await inventory.check_integrity(db) == []


async def test_a_discounted_line_refunds_its_share_to_the_minor_unit(api: Api, db: AsyncSession) -> None:
    """3 x 333 with 10 % off: 100 off, units paid 299/300/300 — returned cheapest first."""
    shop = await make_shop(db)
    order = await place(api, "app", pickup_body({shop.sock: 3}, 899, codes=["SAVE10"]))
    assert order["lines"][0]["line_total"] == 899
    await collect(api, db, order)
    refunds = []
    for units in (1, 2):
        r = await api.as_("pos").post(
            "/v1/returns",
            json={
                "order_id": order["id"],
                "mode": "immediate",
                "reason": "too many",
                "lines": [{"line_no": 1, "quantity": units, "disposition": "restock"}],
            },
        )
        assert r.status_code == 201, r.text
        refunds.append(r.json()["refund_total"])
    assert refunds == [299, 600]


async def test_card_and_points_order_fully_returned(api: Api, db: AsyncSession) -> None:
    """Paid 1000 in points and 4000 by card: a full return gives the points back first and
    refunds the card the rest."""
    shop = await make_shop(db)
    customer_id, token = await customer_with_token(api, random_email())
    card = (await api.as_("contact_center").get(f"/v1/customers/{customer_id}")).json()["card_number"]
    await loyalty.adjust(db, card_number=card, points=1500, reason="welcome")
    await db.commit()
    order = await place(
        api,
        "storefront",
        {
            **delivery_body({shop.small: 2}, 0, customer_id=customer_id),
            "tenders": [
                {"kind": "loyalty_points", "amount": 1000, "loyalty_card": card},
                {"kind": "card", "amount": 4000, "card_token": "tok_visa"},
            ],
        },
        {"X-Customer-Token": token},
    )
    assert (await loyalty.card_view(db, card)).available == 500
    await deliver(api, order)
    authorization = await api.as_("storefront").post(
        "/v1/returns",
        json={"order_id": order["id"], "reason": "not as pictured", "lines": [{"line_no": 1, "quantity": 2}]},
        headers={"X-Customer-Token": token},
    )
    assert authorization.status_code == 201, authorization.text
    ret = authorization.json()
    assert (ret["status"], ret["mode"], ret["allowed_actions"]) == (
        "authorized",
        "authorization",
        ["receive", "close", "reject"],
    )
    refused = await api.as_("storefront").post(f"/v1/returns/{ret['id']}/refund")
    assert refused.status_code == 403  # a storefront does not refund
    early = await api.as_("contact_center").post(f"/v1/returns/{ret['id']}/refund")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_transition")
    # The parcel comes back to the warehouse (a logistics key receives at its location).
    nowhere = await api.as_("logistics").post(
        f"/v1/returns/{ret['id']}/receive", json={"lines": [{"line_no": 1, "quantity": 2, "disposition": "restock"}]}
    )
    assert (nowhere.status_code, nowhere.json()["code"]) == (422, "location_does_not_accept_returns")
    received = await api.as_("admin").post(
        f"/v1/returns/{ret['id']}/receive",
        json={"location_code": "STORE-TEST", "lines": [{"line_no": 1, "quantity": 2, "disposition": "restock"}]},
    )
    assert received.status_code == 200 and received.json()["status"] == "received", received.text
    refunded = await api.as_("contact_center").post(f"/v1/returns/{ret['id']}/refund")
    assert refunded.status_code == 200, refunded.text
    body = refunded.json()
    assert body["refund_total"] == 5000
    assert sorted((x["kind"], x["amount"]) for x in body["refunds"]) == [("card", 4000), ("loyalty_points", 1000)]
    assert (await loyalty.card_view(db, card)).available == 1500
    tenders = {t["kind"]: await tender(db, t["id"]) for t in order["tenders"]}
    assert (tenders["card"].refunded, tenders["loyalty_points"].refunded) == (4000, 1000)


async def test_card_and_points_order_returned_unit_by_unit_gives_points_back_first(api: Api, db: AsyncSession) -> None:
    """Paid 3000 in points and 2000 by card for two shirts (the place-order flow redeems the points tender):
    the first shirt back returns 2500 of the 3000 points, and only that; the second the last
    500 points and the card's 2000. The ledger rows carry the channel of each step."""
    shop = await make_shop(db)
    created = await api.as_("contact_center").post("/v1/customers", json={"name": "Ada"})
    customer_id, card = created.json()["id"], created.json()["card_number"]
    await loyalty.adjust(db, card_number=card, points=3200, reason="welcome")
    await db.commit()
    order = await place(
        api,
        "contact_center",
        {
            **delivery_body({shop.small: 2}, 0, customer_id=customer_id),
            "tenders": [
                {"kind": "loyalty_points", "amount": 3000, "loyalty_card": card},
                {"kind": "card", "amount": 2000, "card_token": "tok_visa"},
            ],
        },
    )
    await deliver(api, order)
    tenders = {t["kind"]: t["id"] for t in order["tenders"]}

    async def return_one() -> dict[str, Any]:
        r = await api.as_("pos").post(
            "/v1/returns",
            json={
                "order_number": order["number"],
                "mode": "immediate",
                "reason": "too small",
                "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
            },
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    first = await return_one()
    assert first["refund_total"] == 2500
    assert [(x["kind"], x["amount"]) for x in first["refunds"]] == [("loyalty_points", 2500)]
    assert (await loyalty.card_view(db, card)).available == 200 + 2500
    assert ((await tender(db, tenders["loyalty_points"])).refunded, (await tender(db, tenders["card"])).refunded) == (
        2500,
        0,
    )

    second = await return_one()
    assert sorted((x["kind"], x["amount"]) for x in second["refunds"]) == [("card", 2000), ("loyalty_points", 500)]
    view = await loyalty.card_view(db, card)
    assert view.available == 3200
    rows = [(e.kind, e.points, e.channel) for e in (await loyalty.ledger(db, card, limit=10, cursor=None)).items]
    assert rows == [
        ("restore", 500, "pos"),
        ("restore", 2500, "pos"),
        ("redeem", -3000, "contact_center"),
        ("adjust", 3200, None),
    ]
    assert await inventory.check_integrity(db) == []


async def test_exchange_of_a_size_is_even(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = await place(api, "storefront", delivery_body({shop.small: 1}, SHIRT_PRICE))
    await deliver(api, order)
    r = await api.as_("pos").post(
        "/v1/exchanges",
        json={"order_number": order["number"], "line_no": 1, "quantity": 1, "new_sku": shop.medium, "reason": "size"},
    )
    assert r.status_code == 201, r.text
    ex = r.json()
    assert ex["exchange"] == {
        "sku": shop.medium,
        "quantity": 1,
        "credit": 2500,
        "new_price": 2500,
        "even": True,
        "difference": 0,
        "paid_by": None,
    }
    assert (ex["status"], ex["refund_total"], ex["refunds"]) == ("refunded", 0, [])
    assert (await ledger(db, shop.small, "STORE-TEST"))[-1] == ("return_restock", 1)
    assert (await ledger(db, shop.medium, "STORE-TEST"))[-1] == ("sale", -1)
    assert await event_types(db, ex["id"]) == [
        "return.requested",
        "return.authorized",
        "return.received",
        "return.exchanged",
    ]
    # Another product costs today's price: the difference is paid at the till.
    order2 = await place(api, "storefront", delivery_body({shop.small: 1}, SHIRT_PRICE))
    await deliver(api, order2)
    body = {"order_id": order2["id"], "line_no": 1, "quantity": 1, "new_sku": shop.sock, "reason": "rather socks"}
    cheaper = await api.as_("pos").post("/v1/exchanges", json=body)
    assert cheaper.status_code == 201, cheaper.text
    assert (cheaper.json()["exchange"]["difference"], cheaper.json()["refund_total"]) == (333 - 2500, 2500 - 333)
    assert await inventory.check_integrity(db) == []


async def test_a_return_after_the_window_is_refused_unless_an_admin_overrides(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    await api.as_("merchandiser").put("/v1/return-policies/tops", json={"days": 14})
    order = await place(api, "storefront", delivery_body({shop.small: 1}, SHIRT_PRICE))
    await deliver(api, order)
    clock.advance(timedelta(days=15))
    body = {"order_id": order["id"], "reason": "late", "lines": [{"line_no": 1, "quantity": 1}]}
    late = await api.as_("contact_center").post("/v1/returns", json=body)
    assert (late.status_code, late.json()["code"]) == (422, "return_window_closed")
    assert late.json()["extra"]["lines"] == [{"line_no": 1, "reason": "return_window_closed"}]
    not_admin = await api.as_("contact_center").post("/v1/returns", json={**body, "override_reason": "goodwill"})
    assert not_admin.status_code == 403
    assert await returns_count(db) == 0
    ok = await api.as_("admin").post("/v1/returns", json={**body, "override_reason": "goodwill: loyal customer"})
    assert ok.status_code == 201, ok.text
    assert (ok.json()["override_reason"], ok.json()["lines"][0]["overridden"]) == (
        "goodwill: loyal customer",
        "return_window_closed",
    )
    # Non-returnable products need the override too.
    mug_order = await place(api, "storefront", delivery_body({shop.mug: 1}, 999))
    await deliver(api, mug_order)
    mug = await api.as_("contact_center").post(
        "/v1/returns", json={"order_id": mug_order["id"], "reason": "x", "lines": [{"line_no": 1, "quantity": 1}]}
    )
    assert (mug.status_code, mug.json()["code"]) == (422, "not_returnable")


async def test_bad_input_writes_nothing(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = await place(api, "storefront", delivery_body({shop.small: 2}, 2 * SHIRT_PRICE))
    other = await place(api, "storefront", delivery_body({shop.medium: 1}, SHIRT_PRICE))
    await deliver(api, order)
    before = await ledger(db, shop.small, "STORE-TEST")
    pos = api.as_("pos")

    async def refused(body: dict[str, object], status: int, code: str, label: str = "pos") -> None:
        r = await api.as_(label).post("/v1/returns", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text

    line = {"line_no": 1, "quantity": 3, "disposition": "restock"}
    await refused(
        {"order_id": order["id"], "mode": "immediate", "reason": "x", "lines": [line]}, 422, "return_exceeds_purchase"
    )
    line2 = {"line_no": 2, "quantity": 1, "disposition": "restock"}
    await refused(
        {"order_id": order["id"], "mode": "immediate", "reason": "x", "lines": [line2]}, 422, "unknown_order_line"
    )
    one = {"line_no": 1, "quantity": 1, "disposition": "restock"}
    # At a till, units never shipped cannot come back; posted back, undelivered ones cannot either.
    await refused({"order_id": other["id"], "mode": "immediate", "reason": "x", "lines": [one]}, 422, "not_shipped")
    posted = {"line_no": 1, "quantity": 1}
    await refused({"order_id": other["id"], "reason": "x", "lines": [posted]}, 422, "not_delivered", "contact_center")
    await refused(
        {"order_id": order["id"], "mode": "immediate", "reason": "x", "location_code": "STORE-NORET", "lines": [one]},
        422,
        "location_does_not_accept_returns",
        "admin",
    )
    await refused(
        {"order_id": order["id"], "mode": "immediate", "reason": "x", "lines": [one]},
        422,
        "immediate_return_at_store_only",
        "contact_center",
    )
    await refused({"order_id": order["id"], "reason": "x", "lines": [{**one, "quantity": 0}]}, 400, "validation_error")
    await refused({"order_id": order["id"], "reason": "x", "lines": [one], "surprise": 1}, 400, "validation_error")
    await refused({"order_id": order["id"], "reason": "x" * 501, "lines": [one]}, 400, "validation_error")
    await refused({"order_id": str(uuid.uuid4()), "reason": "x", "lines": [one]}, 404, "order_not_found")
    await refused({"reason": "x", "lines": [one]}, 422, "order_required")
    assert (await pos.get(f"/v1/returns/{uuid.uuid4()}")).status_code == 404
    assert await returns_count(db) == 0
    assert await ledger(db, shop.small, "STORE-TEST") == before


async def test_closed_authorization_frees_its_units(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = await place(api, "storefront", delivery_body({shop.small: 1}, SHIRT_PRICE))
    await deliver(api, order)
    body = {"order_id": order["id"], "reason": "x", "lines": [{"line_no": 1, "quantity": 1}]}
    first = (await api.as_("contact_center").post("/v1/returns", json=body)).json()
    again = await api.as_("contact_center").post("/v1/returns", json=body)
    assert (again.status_code, again.json()["code"]) == (422, "already_returned")
    closed = await api.as_("contact_center").post(f"/v1/returns/{first['id']}/close", json={"reason": "kept it"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert (await api.as_("contact_center").post("/v1/returns", json=body)).status_code == 201


async def test_a_repeated_request_with_the_same_idempotency_key_returns_once(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = await place(api, "storefront", delivery_body({shop.small: 2}, 2 * SHIRT_PRICE))
    await deliver(api, order)
    body = {"order_id": order["id"], "reason": "x", "lines": [{"line_no": 1, "quantity": 1}]}
    headers = {"Idempotency-Key": "ret-1"}
    first = await api.as_("contact_center").post("/v1/returns", json=body, headers=headers)
    again = await api.as_("contact_center").post("/v1/returns", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = await api.as_("contact_center").post("/v1/returns", json={**body, "reason": "y"}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert await returns_count(db) == 1
