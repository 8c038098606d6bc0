"""PII (email, phone, addresses) never reaches the logs, whatever the request does."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.observability import JsonFormatter
from tests.conftest import Api
from tests.factories.orders import make_shop

EMAIL = "ada.lovelace.pii@example.org"
PHONE = "+49 30 9876543"
STREET = "Analytical Engine Strasse 12"


async def test_customer_requests_leave_no_pii_in_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = {
        "name": "Ada Lovelace",
        "email": EMAIL,
        "phone": PHONE,
        "addresses": [{"label": "home", "line1": STREET, "city": "Berlin", "postal_code": "10115", "country": "DE"}],
    }
    created = await api.as_("contact_center").post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    duplicate = await api.as_("contact_center").post("/v1/customers", json=body)
    assert duplicate.status_code == 409
    for params in ({"email": EMAIL}, {"phone": PHONE}, {"email": "not-an-email"}):
        await api.as_("pos").get("/v1/customers", params=params)
    formatter = JsonFormatter()
    # httpx's records are the test client's own, not the service's.
    service_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(formatter.format(record) for record in service_records)
    assert caplog.records, "the requests were not logged at all"
    for secret in (EMAIL, "9876543", STREET, "ada.lovelace"):
        assert secret not in logged, f"{secret!r} leaked into the logs"


async def test_a_guests_pickup_contact_leaves_no_pii_in_logs(
    api: Api, db: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The kiosk guest's phone and e-mail travel in the order and the pickup-ready event only."""
    shop = await make_shop(db)
    await db.commit()
    caplog.set_level(logging.DEBUG)
    body = {
        "lines": [{"sku": shop.skus[0], "quantity": 1}],
        "fulfillment": {"method": "pickup", "location": shop.store},
        "tenders": [{"kind": "card", "amount": 1000, "card_token": "tok_visa"}],
        "contact": {"email": EMAIL, "phone": PHONE},
    }
    placed = await api.as_("kiosk").post("/v1/orders", json=body, headers={"Idempotency-Key": "pii-guest"})
    assert placed.status_code == 201, placed.text
    bad = await api.as_("kiosk").post(
        "/v1/orders",
        json={**body, "contact": {"email": "ada.lovelace@", "phone": PHONE}},
        headers={"Idempotency-Key": "pii-bad"},
    )
    assert bad.status_code == 422, bad.text
    store = api.as_("pos")
    pick_list = (await store.post("/v1/pick-lists", json={})).json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    assert (await store.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})).status_code == 200
    ready = await store.post(f"/v1/fulfillment-orders/{pick_list['fulfillment_order_ids'][0]}/ready")
    assert ready.status_code == 200, ready.text
    formatter = JsonFormatter()
    service_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(formatter.format(record) for record in service_records)
    assert caplog.records, "the requests were not logged at all"
    for secret in (EMAIL, "9876543", "ada.lovelace"):
        assert secret not in logged, f"{secret!r} leaked into the logs"
