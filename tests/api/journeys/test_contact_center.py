"""Issue 14, contact center: a caller gives a phone number; the agent finds the customer and
sees the whole story in one view — with the contact_center key alone.

What happened before the call is set up through the channels' own keys (a kiosk pickup that
expired, a web delivery with a return refunded, a till pickup collected, an app pickup
waiting, an open cart); the journey itself is the agent's calls, each figure asserted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.models import OutboxEvent
from app.flows import earn_points, fulfillment_progress
from app.loyalty import service as loyalty
from tests.api.returns.conftest import _fo, _pick_all, delivery_body, make_shop, pickup_body, place
from tests.conftest import Api

TRACKING = "CP0012345678FR"


async def _ready(api: Api, order: dict[str, Any], label: str = "pos") -> str:
    """Picked and ready at the POS key's store: the fulfillment order id."""
    fo = await _fo(api, order["id"])
    await _pick_all(api, label)
    ready = await api.as_(label).post(f"/v1/fulfillment-orders/{fo['id']}/ready")
    assert ready.status_code == 200, ready.text
    return str(fo["id"])


async def _pickup_code(db: AsyncSession, fo_id: str) -> str:
    note = (
        await db.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "fulfillment.pickup_ready")
            .where(OutboxEvent.aggregate_id == fo_id)
        )
    ).one()
    return str(note.payload["pickup_code"])


async def _ship(api: Api, order: dict[str, Any]) -> str:
    fo = await _fo(api, order["id"])
    await _pick_all(api, "logistics")
    logistics = api.as_("logistics")
    parcel = {"carrier": "colissimo", "tracking_number": TRACKING}
    assert (await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/pack", json={"parcels": [parcel]})).is_success
    assert (await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/ship")).is_success
    return str(fo["id"])


async def _earn(db: AsyncSession) -> list[int]:
    """What the relay and `loyalty.earn_for_order` do with the committed events."""
    ids = (
        await db.scalars(
            select(OutboxEvent.event_id).where(OutboxEvent.type.in_(loyalty.EARNING_EVENTS)).order_by(OutboxEvent.id)
        )
    ).all()
    earned = [await earn_points.earn_for_event(db, str(i)) for i in ids]
    await db.commit()
    return [e.points if e else 0 for e in earned]


async def test_contact_center_finds_the_caller_and_sees_every_channel_in_one_view(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    created = await api.as_("contact_center").post(
        "/v1/customers", json={"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+49 30 1234567"}
    )
    assert created.status_code == 201, created.text
    customer_id, card = created.json()["id"], created.json()["card_number"]

    # Day 0: a kiosk pickup nobody collected (expires after the pickup window).
    kiosk = await place(api, "kiosk", pickup_body({shop.small: 1}, 2500, customer_id=customer_id))
    kiosk_fo = await _ready(api, kiosk)
    clock.advance(timedelta(days=5, minutes=1))
    assert await fulfillment_progress.expire_pickups(db) == 1
    await db.commit()
    expired_at = clock.now()

    # Day 5: a web order delivered to the door (tracking CP…), then one shirt sent back.
    clock.advance(timedelta(hours=1))
    token = (await api.as_("storefront").post(f"/v1/customers/{customer_id}/tokens")).json()["token"]
    web = await place(
        api,
        "storefront",
        delivery_body({shop.medium: 2}, 5000, customer_id=customer_id),
        {"X-Customer-Token": token},
    )
    web_fo = await _ship(api, web)
    shipped_at = clock.now()
    clock.advance(timedelta(hours=20))
    delivered = await api.as_("integration").post(
        "/v1/carrier-events",
        json={"carrier": "colissimo", "event_id": "ev-1", "tracking_number": TRACKING, "status": "delivered"},
    )
    assert delivered.json()["status"] == "delivered", delivered.text
    delivered_at = clock.now()

    # Day 6: socks bought at the till, collected at once from the store's shelf.
    clock.advance(timedelta(hours=1))
    till = await place(api, "pos", pickup_body({shop.sock: 1}, 333, customer_id=customer_id))
    till_fo = await _ready(api, till)
    code = await _pickup_code(db, till_fo)
    assert (await api.as_("pos").post(f"/v1/fulfillment-orders/{till_fo}/collect", json={"code": code})).is_success
    collected_at = clock.now()
    assert await _earn(db) == [50, 3]  # 50.00 -> 50 points, 3.33 -> 3 (basic tier: 1 per euro)

    clock.advance(timedelta(hours=1))
    ret = await api.as_("contact_center").post(
        "/v1/returns",
        json={"order_id": web["id"], "reason": "too big", "lines": [{"line_no": 1, "quantity": 1}]},
    )
    assert ret.status_code == 201, ret.text
    return_id = ret.json()["id"]
    received = await api.as_("pos").post(
        f"/v1/returns/{return_id}/receive", json={"lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}]}
    )
    assert received.status_code == 200, received.text
    refunded = await api.as_("contact_center").post(f"/v1/returns/{return_id}/refund")
    assert refunded.status_code == 200, refunded.text

    # Day 7: an app pickup ready at the store, and a mug left in the cart.
    clock.advance(timedelta(hours=1))
    app_token = (await api.as_("app").post(f"/v1/customers/{customer_id}/tokens")).json()["token"]
    app_order = await place(
        api, "app", pickup_body({shop.mug: 1}, 999, customer_id=customer_id), {"X-Customer-Token": app_token}
    )
    await _ready(api, app_order)
    app_ready_at = clock.now()
    token = (await api.as_("storefront").post(f"/v1/customers/{customer_id}/tokens")).json()["token"]
    cart = await api.as_("storefront").post(
        "/v1/carts", json={"customer_id": customer_id}, headers={"X-Customer-Token": token}
    )
    assert cart.status_code == 201, cart.text
    cart_id = cart.json()["id"]
    added = await api.as_("storefront").post(
        f"/v1/carts/{cart_id}/lines", json={"sku": shop.mug, "quantity": 2}, headers={"X-Customer-Token": token}
    )
    assert added.status_code == 200, added.text

    # ---- the call: only the contact center's key from here on -----------------------------
    agent = api.as_("contact_center")

    # One search box: whatever the caller gives finds the same person, saying what matched.
    for q, matched in (
        ("030 1234567", "phone"),
        ("ADA@example.com", "email"),
        (card, "card"),
        (web["number"].lower(), "order_number"),
        ("ada lov", "name"),
    ):
        found = await agent.get("/v1/customers/search", params={"q": q})
        assert found.status_code == 200, found.text
        assert [(m["customer"]["id"], m["matched"]) for m in found.json()["items"]] == [(customer_id, matched)], q
    assert (await agent.get("/v1/customers/search", params={"q": "Grace"})).json()["items"] == []
    too_short = await agent.get("/v1/customers/search", params={"q": "a"})
    assert too_short.status_code == 400, too_short.text

    # The view, two orders a page, newest first.
    first = await agent.get(f"/v1/customers/{customer_id}/view", params={"limit": 2})
    assert first.status_code == 200, first.text
    view = first.json()
    assert view["customer"]["name"] == "Ada Lovelace" and view["customer"]["phone"] == "+49301234567"

    loyalty_view = view["loyalty"]
    card_view = loyalty_view["card"]
    # 50 + 3 earned; the returned shirt took back 25: 28 pending, nothing spendable yet.
    assert (card_view["card_number"], card_view["available"], card_view["pending"]) == (card, 0, 28)
    assert (card_view["tier"], card_view["earn_rate"]) == ("basic", 1)
    assert card_view["rolling_spend"] == {"amount": 5000 - 2500 + 333, "currency": "EUR"}
    missing = {"amount": 50000 - 2833, "currency": "EUR"}
    assert card_view["progress"] == {"next_tier": "silver", "spend_missing": missing}
    # Pending until the return window closes (30 days after the hand-over), soonest first.
    releases = [(p["points"], p["order_id"], p["available_at"][:16]) for p in loyalty_view["pending_releases"]]
    assert releases == [
        (25, web["id"], (delivered_at + timedelta(days=30)).isoformat()[:16]),
        (3, till["id"], (collected_at + timedelta(days=30)).isoformat()[:16]),
    ]
    # Points expire 24 months after they were earned (both lots on the same day here or not).
    expiries: dict[str, int] = {}
    for when, points in ((delivered_at, 25), (collected_at, 3)):
        day = when.replace(year=when.year + 2).date().isoformat()
        expiries[day] = expiries.get(day, 0) + points
    assert {e["expires_on"]: e["points"] for e in card_view["upcoming_expiries"]} == expiries

    assert view["open_cart"] is not None
    assert [(ln["sku"], ln["quantity"]) for ln in view["open_cart"]["lines"]] == [(shop.mug, 2)]
    assert view["open_cart"]["total"] == 2 * 999

    [app_story, till_story] = view["orders"]
    assert (app_story["order"]["id"], app_story["order"]["channel"], app_story["order"]["total"]) == (
        app_order["id"], "app", 999,
    )  # fmt: skip
    [app_pickup] = app_story["shipments"]
    assert (app_pickup["type"], app_pickup["status"], app_pickup["location_code"]) == (
        "pickup", "ready_for_pickup", "STORE-TEST",
    )  # fmt: skip
    assert app_pickup["ready_at"][:16] == app_ready_at.isoformat()[:16]
    expires = app_ready_at + timedelta(days=5)  # the pickup window (sourcing rules' default)
    assert app_pickup["pickup_expires_at"][:16] == expires.isoformat()[:16]
    assert app_pickup["collected_at"] is None and app_pickup["parcels"] == []
    assert [(ln["sku"], ln["quantity"]) for ln in app_pickup["lines"]] == [(shop.mug, 1)]
    assert app_story["returns"] == []

    assert (till_story["order"]["channel"], till_story["order"]["status"], till_story["order"]["total"]) == (
        "pos", "completed", 333,
    )  # fmt: skip
    [till_pickup] = till_story["shipments"]
    assert (till_pickup["fulfillment_order_id"], till_pickup["status"]) == (till_fo, "collected")
    assert till_pickup["collected_at"][:16] == collected_at.isoformat()[:16]
    assert till_pickup["pickup_expires_at"] is None  # collected: no deadline left
    assert till_story["returns"] == []

    second = await agent.get(f"/v1/customers/{customer_id}/view", params={"limit": 2, "cursor": view["next_cursor"]})
    assert second.status_code == 200, second.text
    [web_story, kiosk_story] = second.json()["orders"]
    assert second.json()["next_cursor"] is None
    assert (web_story["order"]["channel"], web_story["order"]["status"], web_story["order"]["total"]) == (
        "web", "completed", 5000,
    )  # fmt: skip
    [parcel_fo] = web_story["shipments"]
    assert (parcel_fo["fulfillment_order_id"], parcel_fo["type"], parcel_fo["status"]) == (
        web_fo, "delivery", "delivered",
    )  # fmt: skip
    assert parcel_fo["parcels"] == [
        {
            "carrier": "colissimo",
            "tracking_number": TRACKING,
            "tracking_url": f"https://www.laposte.fr/outils/suivre-vos-envois?code={TRACKING}",
            "delivered_at": parcel_fo["delivered_at"],
        }
    ]
    assert parcel_fo["delivered_at"][:16] == delivered_at.isoformat()[:16]
    assert parcel_fo["shipped_at"][:16] == shipped_at.isoformat()[:16]
    [web_return] = web_story["returns"]
    assert (web_return["id"], web_return["status"], web_return["refund_total"], web_return["points_reversed"]) == (
        return_id, "refunded", 2500, 25,
    )  # fmt: skip
    # The card refund waits for the gateway job after commit.
    assert [(r["kind"], r["amount"], r["status"]) for r in web_return["refunds"]] == [("card", 2500, "pending")]

    assert (kiosk_story["order"]["channel"], kiosk_story["order"]["status"]) == ("kiosk", "cancelled")
    [kiosk_pickup] = kiosk_story["shipments"]
    assert (kiosk_pickup["fulfillment_order_id"], kiosk_pickup["status"]) == (kiosk_fo, "expired")
    assert kiosk_pickup["closed_at"][:16] == expired_at.isoformat()[:16]
    assert kiosk_pickup["pickup_expires_at"][:16] == (expired_at - timedelta(minutes=1)).isoformat()[:16]
    assert kiosk_pickup["collected_at"] is None

    # Returns and refunds by customer or by order.
    by_customer = (await agent.get("/v1/returns", params={"customer_id": customer_id})).json()
    assert [(r["id"], r["order_number"], r["refund_total"]) for r in by_customer["items"]] == [
        (return_id, web["number"], 2500)
    ]
    by_order = (await agent.get("/v1/returns", params={"order_id": web["id"]})).json()
    assert [r["id"] for r in by_order["items"]] == [return_id]
    assert (await agent.get("/v1/returns", params={"order_id": kiosk["id"]})).json()["items"] == []
    both = await agent.get("/v1/returns", params={"order_id": web["id"], "customer_id": customer_id})
    assert (both.status_code, both.json()["code"]) == (422, "returns_filter_required")

    # The view is staff's: a storefront key (even with the shopper's token) is refused.
    refused = await api.as_("storefront").get(f"/v1/customers/{customer_id}/view", headers={"X-Customer-Token": token})
    assert refused.status_code == 403
    assert (await api.as_("pos").get("/v1/customers/search", params={"q": "ada"})).status_code == 403
