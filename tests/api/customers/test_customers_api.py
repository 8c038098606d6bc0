from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Problem
from app.core.models import OutboxEvent
from app.customers import rules
from app.customers.models import Customer
from app.customers.service import HistoryEntry, LoyaltyBalance
from app.flows import customer_merge
from tests.conftest import Api

ADA = {"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+49 30 1234567"}


async def _create(api: Api, body: dict[str, Any], label: str = "contact_center") -> dict[str, Any]:
    response = await api.as_(label).post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Customer)) or 0)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def _token(api: Api, customer: dict[str, Any], label: str = "storefront") -> str:
    response = await api.as_(label).post("/v1/customer-sessions", json={"email": customer["email"]})
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] == customer["id"]
    return str(response.json()["token"])


# ---- create ----------------------------------------------------------------------------


async def test_create_returns_the_record_with_a_loyalty_card(api: Api) -> None:
    body = {
        **ADA,
        "marketing_consent": True,
        "addresses": [
            {"label": "home", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}
        ],
    }
    created = await _create(api, body, "pos")
    assert created["email"] == "ada@example.com"
    assert created["phone"] == "+49301234567"
    assert created["source_channel"] == "pos"
    assert rules.is_card_number(created["card_number"])
    assert created["addresses"][0]["city"] == "Berlin"
    assert created["marketing_consent"] is True
    assert created["merged_ids"] == []


async def test_duplicate_email_is_409_pointing_to_the_existing_customer(api: Api, db: AsyncSession) -> None:
    first = await _create(api, ADA)
    response = await api.as_("storefront").post("/v1/customers", json={"name": "Other", "email": "ADA@example.COM"})
    body = _problem(response, 409, "customer_exists")
    assert body["extra"] == {"existing_customer_id": first["id"], "matched": "email"}
    assert await _count(db) == 1


async def test_create_is_idempotent_with_a_key(api: Api, db: AsyncSession) -> None:
    headers = {"Idempotency-Key": "signup-1"}
    first = await api.as_("storefront").post("/v1/customers", json=ADA, headers=headers)
    again = await api.as_("storefront").post("/v1/customers", json=ADA, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(db) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "Ada", "nickname": "A"}, 400, "validation_error"),
        ({"name": ""}, 400, "validation_error"),
        ({"name": "x" * 201}, 400, "validation_error"),
        ({"name": 42}, 400, "validation_error"),
        ({"name": "Ada", "email": "not-an-email"}, 422, "invalid_email"),
        ({"name": "Ada", "phone": "12"}, 422, "invalid_phone"),
        ({"name": "Ada", "addresses": [{"line1": "A 1", "city": "B", "country": "ZZ"}]}, 400, "validation_error"),
        ({"name": "Ada", "addresses": [{"line1": "A 1", "city": "B", "country": "de"}]}, 400, "validation_error"),
        ({"name": "Ada", "addresses": [{"line1": "A 1", "city": "B"}]}, 400, "validation_error"),
        ({"name": "Ada", "addresses": [{"line1": "A", "city": "B", "country": "DE"}] * 21}, 400, "validation_error"),
    ],
)
async def test_bad_input_is_4xx_and_writes_nothing(
    api: Api, db: AsyncSession, body: dict[str, Any], status: int, code: str
) -> None:
    response = await api.as_("contact_center").post("/v1/customers", json=body)
    _problem(response, status, code)
    assert await _count(db) == 0


async def test_unknown_country_names_the_field(api: Api) -> None:
    response = await api.as_("admin").post(
        "/v1/customers", json={"name": "Ada", "addresses": [{"line1": "A 1", "city": "B", "country": "ZZ"}]}
    )
    body = _problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "addresses[0]"
    assert body["errors"][0]["message"] == "country ZZ is not an ISO 3166-1 alpha-2 code"


@pytest.mark.parametrize("label", ["merchandiser", "logistics", "integration"])
async def test_roles_without_customer_business_are_refused(api: Api, label: str) -> None:
    _problem(await api.as_(label).post("/v1/customers", json=ADA), 403, "forbidden")
    _problem(await api.as_(label).get("/v1/customers", params={"email": "a@b.de"}), 403, "forbidden")


# ---- look-up ---------------------------------------------------------------------------


async def test_lookup_by_phone_written_differently_finds_the_same_customer(api: Api) -> None:
    created = await _create(api, {"name": "Ada", "phone": "+49 30 1234567"})
    response = await api.as_("contact_center").get("/v1/customers", params={"phone": "030 1234567"})
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [created["id"]]
    assert response.json()["next_cursor"] is None


async def test_pos_scans_the_card(api: Api) -> None:
    created = await _create(api, ADA)
    response = await api.as_("pos").get("/v1/customers", params={"card": created["card_number"]})
    assert [c["id"] for c in response.json()["items"]] == [created["id"]]


async def test_lookup_without_match_is_an_empty_page(api: Api) -> None:
    response = await api.as_("kiosk").get("/v1/customers", params={"email": "nobody@example.com"})
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "invalid_lookup"),
        ({"email": "a@b.de", "card": "2900000000001"}, 400, "invalid_lookup"),
        ({"phone": "hello"}, 422, "invalid_phone"),
        ({"card": "2900000000004"}, 422, "invalid_card_number"),
        ({"email": "x" * 400}, 400, "validation_error"),
    ],
)
async def test_bad_lookups(api: Api, params: dict[str, str], status: int, code: str) -> None:
    _problem(await api.as_("contact_center").get("/v1/customers", params=params), status, code)


async def test_unknown_customer_is_404(api: Api) -> None:
    _problem(await api.as_("contact_center").get(f"/v1/customers/{uuid.uuid4()}"), 404, "customer_not_found")


# ---- update ----------------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(api: Api, db: AsyncSession) -> None:
    created = await _create(api, ADA)
    response = await api.as_("contact_center").patch(
        f"/v1/customers/{created['id']}",
        json={"marketing_consent": True, "addresses": [{"line1": "Main St 1", "city": "Berlin", "country": "DE"}]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["marketing_consent"] is True
    assert body["email"] == "ada@example.com"
    assert body["addresses"][0]["line1"] == "Main St 1"
    cleared = await api.as_("contact_center").patch(f"/v1/customers/{created['id']}", json={"phone": None})
    assert cleared.json()["phone"] is None
    events = await db.scalars(
        select(OutboxEvent.payload).where(OutboxEvent.type == "customer.updated").order_by(OutboxEvent.id)
    )
    assert [e["changed"] for e in events] == [["addresses", "marketing_consent"], ["phone"]]


async def test_patch_bad_input_writes_nothing(api: Api) -> None:
    created = await _create(api, ADA)
    url = f"/v1/customers/{created['id']}"
    _problem(await api.as_("contact_center").patch(url, json={"email": "nope", "name": "New"}), 422, "invalid_email")
    _problem(await api.as_("contact_center").patch(url, json={"name": None}), 400, "validation_error")
    _problem(await api.as_("contact_center").patch(url, json={"card_number": "2900000000001"}), 400, "validation_error")
    other = await _create(api, {"name": "Bob", "email": "bob@example.com"})
    conflict = await api.as_("contact_center").patch(url, json={"email": "bob@example.com"})
    assert _problem(conflict, 409, "customer_exists")["extra"]["existing_customer_id"] == other["id"]
    unchanged = (await api.as_("contact_center").get(url)).json()
    assert (unchanged["name"], unchanged["email"]) == ("Ada Lovelace", "ada@example.com")


# ---- merge -----------------------------------------------------------------------------


async def test_merge_then_lookup_by_absorbed_email_or_card_finds_the_survivor(api: Api) -> None:
    guest = await _create(api, {"name": "Ada", "email": "guest@example.com"}, "storefront")
    registered = await _create(api, ADA, "storefront")
    response = await api.as_("contact_center").post(
        f"/v1/customers/{registered['id']}/merge", json={"absorb": guest["id"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["merged_ids"] == [guest["id"]]
    for params in ({"email": "guest@example.com"}, {"card": guest["card_number"]}):
        found = await api.as_("pos").get("/v1/customers", params=params)
        assert [c["id"] for c in found.json()["items"]] == [registered["id"]]
    old = await api.as_("contact_center").get(f"/v1/customers/{guest['id']}")
    assert old.status_code == 200
    assert old.json()["id"] == registered["id"]
    assert old.headers["content-location"] == f"/v1/customers/{registered['id']}"
    again = await api.as_("admin").post(f"/v1/customers/{registered['id']}/merge", json={"absorb": guest["id"]})
    assert again.status_code == 200
    assert again.json()["id"] == registered["id"]


async def test_merge_refusals_over_http(api: Api) -> None:
    a = await _create(api, {"name": "A", "email": "a@example.com"})
    url = f"/v1/customers/{a['id']}/merge"
    _problem(await api.as_("storefront").post(url, json={"absorb": str(uuid.uuid4())}), 403, "forbidden")
    _problem(await api.as_("pos").post(url, json={"absorb": str(uuid.uuid4())}), 403, "forbidden")
    _problem(await api.as_("admin").post(url, json={"absorb": a["id"]}), 422, "cannot_merge_self")
    _problem(await api.as_("admin").post(url, json={"absorb": str(uuid.uuid4())}), 404, "customer_not_found")
    _problem(await api.as_("admin").post(url, json={"absorb": "not-a-uuid"}), 400, "validation_error")


class CartBusy(Problem):
    """A domain's own problem (its class declares its code)."""

    status, code, title = 409, "test_cart_busy", "Cart busy"


async def test_merge_aborted_by_a_domain_leaves_both_records(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    guest = await _create(api, {"name": "G", "email": "guest@example.com"})
    registered = await _create(api, ADA)

    async def refuse(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
        raise CartBusy("cart is being checked out")

    monkeypatch.setattr(customer_merge.orders, "move_to_survivor", refuse)
    response = await api.as_("admin").post(f"/v1/customers/{registered['id']}/merge", json={"absorb": guest["id"]})
    _problem(response, 409, "test_cart_busy")
    still = await api.as_("admin").get(f"/v1/customers/{guest['id']}")
    assert still.json()["id"] == guest["id"]
    assert still.json()["email"] == "guest@example.com"


# ---- the storefront rule ---------------------------------------------------------------


async def test_storefront_reads_a_record_only_with_its_customers_token(api: Api) -> None:
    ada = await _create(api, ADA, "storefront")
    bob = await _create(api, {"name": "Bob", "email": "bob@example.com"}, "storefront")
    url = f"/v1/customers/{ada['id']}"
    _problem(await api.as_("storefront").get(url), 403, "customer_token_required")
    bob_token = await _token(api, bob)
    wrong = await api.as_("storefront").get(url, headers={"X-Customer-Token": bob_token})
    _problem(wrong, 403, "customer_token_invalid")
    _problem(
        await api.as_("storefront").patch(url, json={"name": "Mallory"}, headers={"X-Customer-Token": bob_token}),
        403,
        "customer_token_invalid",
    )
    _problem(await api.as_("storefront").get(f"{url}/overview"), 403, "customer_token_required")
    ada_token = await _token(api, ada)
    ok = await api.as_("storefront").get(url, headers={"X-Customer-Token": ada_token})
    assert ok.status_code == 200
    assert ok.json()["email"] == "ada@example.com"
    # Another storefront key (the app) cannot use the web storefront's token.
    _problem(await api.as_("app").get(url, headers={"X-Customer-Token": ada_token}), 403, "customer_token_invalid")
    # Staff and physical channels need no token.
    for label in ("contact_center", "pos", "kiosk", "admin"):
        assert (await api.as_(label).get(url)).status_code == 200


async def test_storefront_lookup_shows_only_its_tokens_customer(api: Api) -> None:
    ada = await _create(api, ADA, "storefront")
    hidden = await api.as_("storefront").get("/v1/customers", params={"email": "ada@example.com"})
    assert hidden.json()["items"] == []
    token = await _token(api, ada)
    shown = await api.as_("storefront").get(
        "/v1/customers", params={"email": "ada@example.com"}, headers={"X-Customer-Token": token}
    )
    assert [c["id"] for c in shown.json()["items"]] == [ada["id"]]


async def test_only_storefronts_open_customer_sessions(api: Api) -> None:
    ada = await _create(api, ADA)
    for label in ("contact_center", "pos", "admin"):
        _problem(await api.as_(label).post("/v1/customer-sessions", json={"email": ada["email"]}), 403, "forbidden")
        _problem(await api.as_(label).post(f"/v1/customers/{ada['id']}/tokens"), 403, "forbidden")
    by_phone = await api.as_("app").post("/v1/customer-sessions", json={"phone": "030 1234567"})
    assert by_phone.status_code == 201
    assert by_phone.json()["customer_id"] == ada["id"]
    issued = await api.as_("storefront").post(f"/v1/customers/{ada['id']}/tokens")
    assert issued.status_code == 201
    assert issued.headers["cache-control"] == "no-store"
    assert by_phone.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    assert (
        await api.as_("storefront").get(f"/v1/customers/{ada['id']}", headers={"X-Customer-Token": token})
    ).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "nobody@example.com"}, 404, "customer_not_found"),
        ({}, 400, "invalid_lookup"),
        ({"email": "a@example.com", "phone": "030 1234567"}, 400, "invalid_lookup"),
        ({"email": "a@example.com", "password": "x"}, 400, "validation_error"),
    ],
)
async def test_bad_customer_sessions(api: Api, body: dict[str, str], status: int, code: str) -> None:
    _problem(await api.as_("storefront").post("/v1/customer-sessions", json=body), status, code)


# ---- contact-center overview -----------------------------------------------------------


async def test_overview_without_orders_or_loyalty(api: Api) -> None:
    ada = await _create(api, ADA)
    response = await api.as_("contact_center").get(f"/v1/customers/{ada['id']}/overview")
    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["id"] == ada["id"]
    assert body["loyalty"] == {"points": 0, "tier": "basic"}  # no card used yet: the first tier
    assert body["history"] == []


async def test_overview_lists_every_channel_newest_first(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    ada = await _create(api, ADA)

    async def orders(session: AsyncSession, customer_id: uuid.UUID, limit: int) -> Sequence[HistoryEntry]:
        return [
            HistoryEntry(
                kind="order",
                id="pos-1",
                number="S-1",
                channel="pos",
                status="completed",
                occurred_at=datetime(2026, 1, 3, tzinfo=UTC),
            ),
            HistoryEntry(
                kind="order",
                id="web-1",
                number="W-1",
                channel="web",
                status="shipped",
                occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
            ),
        ]

    async def balance(session: AsyncSession, customer_id: uuid.UUID) -> LoyaltyBalance:
        return LoyaltyBalance(points=120)

    monkeypatch.setattr(customer_merge.orders, "order_history", orders)
    monkeypatch.setattr(customer_merge.loyalty, "balance_for_customer", balance)
    response = await api.as_("contact_center").get(f"/v1/customers/{ada['id']}/overview", params={"history_limit": 5})
    body = response.json()
    assert [(e["id"], e["channel"]) for e in body["history"]] == [("web-1", "web"), ("pos-1", "pos")]
    assert body["loyalty"]["points"] == 120
    _problem(
        await api.as_("contact_center").get(f"/v1/customers/{ada['id']}/overview", params={"history_limit": 0}),
        400,
        "validation_error",
    )
