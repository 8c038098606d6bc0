"""Customers for order tests, made through the customers API (with a storefront token)."""

from __future__ import annotations

import uuid

from tests.conftest import Api


async def customer_with_token(api: Api, email: str, label: str = "storefront") -> tuple[str, str]:
    """(customer id, X-Customer-Token for the `label` key)."""
    created = await api.as_(label).post("/v1/customers", json={"name": "Ada", "email": email})
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    token = await api.as_(label).post(f"/v1/customers/{customer_id}/tokens")
    assert token.status_code in (200, 201), token.text
    return customer_id, token.json()["token"]


def random_email() -> str:
    return f"shopper-{uuid.uuid4().hex[:10]}@example.com"
