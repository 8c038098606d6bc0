"""Loyalty through the real order flow: orders placed in three channels, handed over by
fulfilment, earned from fulfilment's events (the actor's body), paid partly with points,
cancelled, returned."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxEvent
from app.flows import earn_points
from app.loyalty import service as loyalty
from tests.api.returns.conftest import collect, deliver, delivery_body, make_shop, pickup_body, place
from tests.conftest import Api


async def _earn_from_events(db: AsyncSession) -> list[int]:
    """What the relay and `loyalty.earn_for_order` do with the committed events."""
    events = (
        await db.scalars(
            select(OutboxEvent.event_id).where(OutboxEvent.type.in_(loyalty.EARNING_EVENTS)).order_by(OutboxEvent.id)
        )
    ).all()
    earned = []
    for event_id in events:
        result = await earn_points.earn_for_event(db, str(event_id))
        earned.append(result.points if result else 0)
    await db.flush()
    return earned


async def _card(api: Api, number: str) -> dict[str, Any]:
    response = await api.as_("contact_center").get(f"/v1/loyalty/cards/{number}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_kiosk_app_and_contact_center_orders_of_one_customer_earn_on_one_card(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    created = await api.as_("contact_center").post("/v1/customers", json={"name": "Ada"})
    customer_id, card = created.json()["id"], created.json()["card_number"]
    token = (await api.as_("app").post(f"/v1/customers/{customer_id}/tokens")).json()["token"]
    gift = await api.as_("admin").post(
        f"/v1/loyalty/cards/{card}/adjustments", json={"points": 500, "reason": "welcome"}
    )
    assert gift.status_code == 201, gift.text

    kiosk = await place(api, "kiosk", pickup_body({shop.small: 1}, 2500, customer_id=customer_id))
    await collect(api, db, kiosk)
    app = await place(
        api,
        "app",
        {
            **delivery_body({shop.medium: 2}, 0, customer_id=customer_id),
            "tenders": [
                {"kind": "loyalty_points", "amount": 500, "loyalty_card": card},
                {"kind": "card", "amount": 4500, "card_token": "tok_visa"},
            ],
        },
        {"X-Customer-Token": token},
    )
    assert (await _card(api, card))["available"] == 0  # the welcome points paid 5.00 of it
    await deliver(api, app)
    phone = await place(api, "contact_center", delivery_body({shop.sock: 3}, 999, customer_id=customer_id))
    await deliver(api, phone)

    # Kiosk 25.00 -> 25; app 50.00 of which 5.00 in points -> 45; contact center 9.99 -> 9.
    assert await _earn_from_events(db) == [25, 45, 9]
    view = await _card(api, card)
    assert (view["pending"], view["available"], view["rolling_spend"]["amount"]) == (79, 0, 2500 + 4500 + 999)
    earns = [(e["channel"], e["points"], e["reference"]) for e in view["ledger"]["items"] if e["kind"] == "earn"]
    assert earns == [
        ("contact_center", 9, phone["id"]),
        ("app", 45, app["id"]),
        ("kiosk", 25, kiosk["id"]),
    ]
    # The relay delivers at least once: the same events again earn nothing more.
    assert await _earn_from_events(db) == [25, 45, 9]
    assert (await _card(api, card))["pending"] == 79
    assert await loyalty.audit(db) == []


async def test_a_cancelled_order_gives_its_points_back(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    created = await api.as_("contact_center").post("/v1/customers", json={"name": "Bob"})
    customer_id, card = created.json()["id"], created.json()["card_number"]
    await api.as_("admin").post(f"/v1/loyalty/cards/{card}/adjustments", json={"points": 3000, "reason": "gift"})
    order = await place(
        api,
        "contact_center",
        {
            **delivery_body({shop.small: 1}, 0, customer_id=customer_id),
            "tenders": [
                {"kind": "loyalty_points", "amount": 2000, "loyalty_card": card},
                {"kind": "card", "amount": 500, "card_token": "tok_visa"},
            ],
        },
    )
    assert (await _card(api, card))["available"] == 1000
    too_much = await api.as_("contact_center").post(
        "/v1/orders",
        json={
            **delivery_body({shop.small: 1}, 0, customer_id=customer_id),
            "tenders": [{"kind": "loyalty_points", "amount": 2500, "loyalty_card": card}],
        },
    )
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_points")
    cancelled = await api.as_("contact_center").post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "changed mind"}
    )
    assert cancelled.status_code == 200, cancelled.text
    view = await _card(api, card)
    assert view["available"] == 3000
    kinds = [(e["kind"], e["points"]) for e in view["ledger"]["items"]]
    assert kinds == [("restore", 2000), ("redeem", -2000), ("adjust", 3000)]
