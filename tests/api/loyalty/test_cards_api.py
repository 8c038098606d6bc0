"""Loyalty cards over HTTP: view, ledger pages, adjustments, access and problem documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.loyalty import service
from app.loyalty.models import LedgerEntry
from tests.conftest import Api

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.freeze(START)


async def _customer(api: Api, name: str = "Ada") -> dict[str, Any]:
    response = await api.as_("contact_center").post("/v1/customers", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def _entries(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def _earn(db: AsyncSession, card: str, source: str, channel: str, lines: list[tuple[str, int]]) -> None:
    await service.earn(
        db,
        source_id=source,
        event_type="fulfillment.delivered",
        card_number=card,
        channel=channel,
        lines=lines,
        currency="EUR",
        occurred_at=START,
        order_id=f"order-{source}",
    )
    await db.flush()


async def test_a_new_customers_card_is_empty_and_shows_the_way_to_silver(api: Api) -> None:
    customer = await _customer(api)
    response = await api.as_("pos").get(f"/v1/loyalty/cards/{customer['card_number']}")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "card_number": customer["card_number"],
        "customer_id": customer["id"],
        "available": 0,
        "pending": 0,
        "available_value": {"amount": 0, "currency": "EUR"},
        "tier": "basic",
        "earn_rate": 1,
        "rolling_spend": {"amount": 0, "currency": "EUR"},
        "progress": {"next_tier": "silver", "spend_missing": {"amount": 50000, "currency": "EUR"}},
        "point_value": {"amount": 1, "currency": "EUR"},
        "upcoming_expiries": [],
        "ledger": {"items": [], "next_cursor": None},
    }


async def test_kiosk_app_and_contact_center_orders_earn_on_the_same_card(api: Api, db: AsyncSession) -> None:
    customer = await _customer(api)
    card = customer["card_number"]
    await _earn(db, card, "fo-kiosk", "kiosk", [("k1", 2500)])
    await _earn(db, card, "fo-app", "app", [("a1", 1000), ("a2", 550)])
    await _earn(db, card, "fo-phone", "contact_center", [("c1", 7000)])
    for label in ("kiosk", "contact_center", "pos", "admin"):
        body = (await api.as_(label).get(f"/v1/loyalty/cards/{card}")).json()
        assert (body["pending"], body["available"]) == (25 + 15 + 70, 0)
    ledger = body["ledger"]["items"]
    assert [(e["kind"], e["points"], e["channel"], e["reference"]) for e in ledger] == [
        ("earn", 70, "contact_center", "order-fo-phone"),
        ("earn", 15, "app", "order-fo-app"),
        ("earn", 25, "kiosk", "order-fo-kiosk"),
    ]
    assert body["upcoming_expiries"] == [{"expires_on": "2028-03-01", "points": 110}]
    overview = await api.as_("contact_center").get(f"/v1/customers/{customer['id']}/overview")
    assert overview.status_code == 200, overview.text
    # The contact-center view shows the available balance (all of it is still pending).
    assert overview.json()["loyalty"] == {"points": 0, "tier": "basic"}


async def test_ledger_pages_newest_first(api: Api, db: AsyncSession) -> None:
    card = (await _customer(api))["card_number"]
    for i in range(5):
        await _earn(db, card, f"fo-{i}", "web", [(f"l{i}", 100 * (i + 1))])
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.as_("pos").get(f"/v1/loyalty/cards/{card}/ledger", params=params)).json()
        seen.extend(entry["points"] for entry in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    _problem(
        await api.as_("pos").get(f"/v1/loyalty/cards/{card}/ledger", params={"cursor": "!!"}), 400, "invalid_cursor"
    )
    bad_limit = await api.as_("pos").get(f"/v1/loyalty/cards/{card}/ledger", params={"limit": 0})
    _problem(bad_limit, 400, "validation_error")


async def test_adjustments_are_for_admins_and_replay_with_an_idempotency_key(api: Api, db: AsyncSession) -> None:
    card = (await _customer(api))["card_number"]
    url = f"/v1/loyalty/cards/{card}/adjustments"
    _problem(await api.as_("pos").post(url, json={"points": 10, "reason": "x"}), 403, "forbidden")
    headers = {"Idempotency-Key": "goodwill-1"}
    first = await api.as_("admin").post(url, json={"points": 250, "reason": "late delivery"}, headers=headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["available"], body["entry"]["kind"], body["entry"]["points"], body["entry"]["note"]) == (
        250,
        "adjust",
        250,
        "late delivery",
    )
    again = await api.as_("admin").post(url, json={"points": 250, "reason": "late delivery"}, headers=headers)
    assert (again.status_code, again.json()) == (201, body)
    assert await _entries(db) == 1
    taken = await api.as_("admin").post(url, json={"points": -50, "reason": "correction"})
    assert taken.json()["available"] == 200


async def test_taking_more_points_than_available_is_refused_and_writes_nothing(api: Api, db: AsyncSession) -> None:
    card = (await _customer(api))["card_number"]
    url = f"/v1/loyalty/cards/{card}/adjustments"
    assert (await api.as_("admin").post(url, json={"points": 30, "reason": "gift"})).status_code == 201
    refused = _problem(
        await api.as_("admin").post(url, json={"points": -31, "reason": "too much"}), 409, "insufficient_points"
    )
    assert refused["extra"] == {"available": 30, "requested": 31}
    assert await _entries(db) == 1
    card_body = (await api.as_("admin").get(f"/v1/loyalty/cards/{card}")).json()
    assert card_body["available"] == 30


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"points": 0, "reason": "nothing"}, 422, "invalid_points"),
        ({"points": 10}, 400, "validation_error"),
        ({"points": 10, "reason": ""}, 400, "validation_error"),
        ({"points": 10, "reason": "x" * 201}, 400, "validation_error"),
        ({"points": 1.5, "reason": "x"}, 400, "validation_error"),
        ({"points": 10**9, "reason": "x"}, 400, "validation_error"),
        ({"points": 10, "reason": "x", "extra": 1}, 400, "validation_error"),
    ],
)
async def test_bad_adjustments(api: Api, db: AsyncSession, body: dict[str, Any], status: int, code: str) -> None:
    card = (await _customer(api))["card_number"]
    _problem(await api.as_("admin").post(f"/v1/loyalty/cards/{card}/adjustments", json=body), status, code)
    assert await _entries(db) == 0


async def test_unknown_and_malformed_cards(api: Api) -> None:
    _problem(await api.as_("pos").get("/v1/loyalty/cards/2900000000001"), 404, "card_not_found")
    _problem(await api.as_("pos").get("/v1/loyalty/cards/12345"), 422, "invalid_card_number")
    _problem(await api.as_("pos").get("/v1/loyalty/cards/2900000000002"), 422, "invalid_card_number")
    _problem(
        await api.as_("admin").post("/v1/loyalty/cards/2900000000001/adjustments", json={"points": 5, "reason": "x"}),
        404,
        "card_not_found",
    )


async def test_a_storefront_needs_the_customers_token(api: Api) -> None:
    customer = await _customer(api)
    url = f"/v1/loyalty/cards/{customer['card_number']}"
    _problem(await api.as_("storefront").get(url), 403, "customer_token_required")
    token = await api.as_("storefront").post(f"/v1/customers/{customer['id']}/tokens")
    assert token.status_code == 201, token.text
    seen = await api.as_("storefront").get(url, headers={"X-Customer-Token": token.json()["token"]})
    assert seen.status_code == 200
    other = await _customer(api, "Bob")
    foreign = await api.as_("storefront").get(
        f"/v1/loyalty/cards/{other['card_number']}", headers={"X-Customer-Token": token.json()["token"]}
    )
    _problem(foreign, 403, "customer_token_invalid")


async def test_a_card_needs_a_key(api: Api) -> None:
    _problem(await api.as_(None).get("/v1/loyalty/cards/2900000000001"), 401, "unauthorized")
    _problem(await api.as_("logistics").get("/v1/loyalty/cards/2900000000001"), 403, "forbidden")
