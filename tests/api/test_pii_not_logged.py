"""PII (email, phone, addresses) never reaches the logs, whatever the request does."""

from __future__ import annotations

import logging

import pytest

from app.core.observability import JsonFormatter
from tests.conftest import Api

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
