"""Races on committed data: real separate connections, requests at the same time."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.customers.models import Customer
from tests.conftest import Api


async def test_simultaneous_signups_with_one_email_make_one_customer(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    async def signup(i: int) -> tuple[int, str]:
        response = await committed_api.as_("storefront").post(
            "/v1/customers", json={"name": f"Ada {i}", "email": "ada@example.com"}
        )
        body = response.json()
        return response.status_code, body.get("id") or body.get("extra", {}).get("existing_customer_id")

    results = await asyncio.gather(*(signup(i) for i in range(12)))
    assert Counter(status for status, _ in results) == {201: 1, 409: 11}
    assert len({customer_id for _, customer_id in results}) == 1
    async with committed() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 1


async def test_crossed_merges_of_one_pair_cannot_both_win(committed_api: Api) -> None:
    a = (await committed_api.as_("contact_center").post("/v1/customers", json={"name": "A"})).json()
    b = (await committed_api.as_("contact_center").post("/v1/customers", json={"name": "B"})).json()
    responses = await asyncio.gather(
        committed_api.as_("contact_center").post(f"/v1/customers/{a['id']}/merge", json={"absorb": b["id"]}),
        committed_api.as_("admin").post(f"/v1/customers/{b['id']}/merge", json={"absorb": a["id"]}),
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert [r.json()["code"] for r in responses if r.status_code == 409] == ["customer_merged"]
    winner = next(r.json()["id"] for r in responses if r.status_code == 200)
    for customer in (a, b):
        found = await committed_api.as_("pos").get("/v1/customers", params={"card": customer["card_number"]})
        assert [c["id"] for c in found.json()["items"]] == [winner]
