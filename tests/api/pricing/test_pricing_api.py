"""Pricing over HTTP: management by merchandisers, quotes for every channel, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from tests.conftest import Api
from tests.factories.inventory import LocationFactory, make_locations
from tests.factories.pricing import shop

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CHANNEL_KEYS = ["storefront", "app", "kiosk", "contact_center", "pos"]


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.freeze(T0)


@pytest.fixture
async def catalog(db_maker: async_sessionmaker[AsyncSession]) -> None:
    async with db_maker() as session:
        await shop(session)
        await make_locations(session, LocationFactory(code="STORE-NORTH", zone="north"))
        await session.commit()


async def created(api: Api, path: str, body: dict[str, Any], label: str = "merchandiser") -> dict[str, Any]:
    response = await api.as_(label).post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def priced(api: Api) -> None:
    for sku, amount in (("SHIRT", 2500), ("SOCKS", 799), ("MUG", 1200)):
        await created(api, "/v1/prices", {"sku": sku, "currency": "EUR", "amount": amount})


QUOTE = {
    "currency": "EUR",
    "lines": [{"sku": "SHIRT", "quantity": 2}, {"sku": "SOCKS", "quantity": 1}, {"sku": "MUG", "quantity": 1}],
    "codes": ["five", "NOPE", "save 10%"],
    "fulfillment": {"method": "delivery", "address": {"country": "DE", "postal_code": "10115"}},
}


@pytest.mark.usefixtures("catalog")
async def test_the_same_quote_is_returned_to_every_channel(api: Api) -> None:
    await created(
        api,
        "/v1/price-zones",
        {
            "code": "north",
            "name": "North",
            "delivery_fees": [{"currency": "EUR", "amount": 495}],
            "areas": [{"country": "DE"}],
        },
    )
    await priced(api)
    await created(
        api,
        "/v1/prices",
        {"sku": "SHIRT", "currency": "EUR", "amount": 2700, "zone": "north", "compare_at_amount": 3500},
    )
    starts = (T0 - timedelta(days=1)).isoformat()
    await created(
        api,
        "/v1/promotions",
        {
            "name": "Apparel 20",
            "kind": "percent_off_items",
            "percent_bp": 2000,
            "starts_at": starts,
            "target": {"categories": ["apparel"]},
        },
    )
    five = await created(
        api,
        "/v1/promotions",
        {
            "name": "Five off",
            "kind": "order_amount_off",
            "amount": 500,
            "currency": "EUR",
            "requires_code": True,
            "starts_at": starts,
        },
    )
    await created(api, f"/v1/promotions/{five['id']}/codes", {"code": "FIVE"})

    bodies = []
    for label in [*CHANNEL_KEYS, "admin", "merchandiser", "logistics", "integration"]:
        response = await api.as_(label).post("/v1/pricing/quote", json=QUOTE)
        assert response.status_code == 200, (label, response.text)
        bodies.append(response.json())
    assert all(body == bodies[0] for body in bodies)

    body = bodies[0]
    assert body["zone"] == "north"
    assert [(ln["sku"], ln["unit_price"], ln["compare_at_price"], ln["net"]) for ln in body["lines"]] == [
        ("SHIRT", 2700, 3500, 3969),  # north price; 54.00 - 10.80 - 3.51
        ("SOCKS", 799, None, 587),  # default price; 7.99 - 1.60 - 0.52
        ("MUG", 1200, None, 1103),  # 12.00 - 0.97
    ]
    assert (body["subtotal"], body["discount_total"], body["delivery"], body["total"]) == (7399, 1740, 495, 6154)
    assert [(c["code"], c["applied"], c["reason"]) for c in body["codes"]] == [
        ("FIVE", True, "applied"),
        ("NOPE", False, "unknown_code"),
        ("SAVE 10%", False, "unknown_code"),
    ]
    assert [d["name"] for d in body["discounts"]] == ["Apparel 20", "Five off"]


@pytest.mark.usefixtures("catalog")
async def test_pickup_uses_the_stores_zone_and_no_delivery_fee(api: Api) -> None:
    await created(
        api,
        "/v1/price-zones",
        {"code": "north", "name": "North", "delivery_fees": [{"currency": "EUR", "amount": 495}]},
    )
    await priced(api)
    await created(api, "/v1/prices", {"sku": "MUG", "currency": "EUR", "amount": 1100, "zone": "north"})
    body = {"currency": "EUR", "lines": [{"sku": "MUG", "quantity": 1}]}
    pickup = await api.as_("storefront").post(
        "/v1/pricing/quote", json={**body, "fulfillment": {"method": "pickup", "location": "STORE-NORTH"}}
    )
    assert pickup.status_code == 200, pickup.text
    assert (pickup.json()["zone"], pickup.json()["total"], pickup.json()["delivery"]) == ("north", 1100, 0)
    anywhere = await api.as_("storefront").post("/v1/pricing/quote", json=body)
    assert (anywhere.json()["zone"], anywhere.json()["total"]) == ("default", 1200)


@pytest.mark.usefixtures("catalog")
async def test_a_channel_restricted_promotion_is_the_one_exception(api: Api) -> None:
    await priced(api)
    await created(
        api,
        "/v1/promotions",
        {
            "name": "In-store only",
            "kind": "order_percent_off",
            "percent_bp": 1000,
            "channels": ["pos"],
            "starts_at": (T0 - timedelta(hours=1)).isoformat(),
        },
    )
    body = {"currency": "EUR", "lines": [{"sku": "MUG", "quantity": 1}]}
    assert (await api.as_("pos").post("/v1/pricing/quote", json=body)).json()["total"] == 1080
    assert (await api.as_("storefront").post("/v1/pricing/quote", json=body)).json()["total"] == 1200


@pytest.mark.usefixtures("catalog")
async def test_merchandisers_manage_prices_zones_promotions_and_codes(api: Api) -> None:
    zone = await created(
        api, "/v1/price-zones", {"code": "south", "name": "South", "areas": [{"country": "DE", "postal_prefix": "80"}]}
    )
    assert zone["areas"] == [{"country": "DE", "postal_prefix": "80"}]
    patched = await api.as_("merchandiser").patch(
        "/v1/price-zones/south", json={"delivery_fees": [{"currency": "EUR", "amount": 390}]}
    )
    assert patched.json()["delivery_fees"] == [{"currency": "EUR", "amount": 390}]
    zones = await api.as_("pos").get("/v1/price-zones")
    assert "south" in [z["code"] for z in zones.json()["items"]]

    first = await created(api, "/v1/prices", {"sku": "SHIRT", "currency": "EUR", "amount": 2500})
    later = (T0 + timedelta(days=7)).isoformat()
    scheduled = await created(
        api, "/v1/prices", {"sku": "SHIRT", "currency": "EUR", "amount": 1999, "valid_from": later}
    )
    history = (await api.as_("merchandiser").get("/v1/prices", params={"sku": "SHIRT"})).json()
    assert [p["amount"] for p in history["items"]] == [1999, 2500]
    assert (await api.as_("merchandiser").delete(f"/v1/prices/{scheduled['id']}")).status_code == 204
    refused = await api.as_("merchandiser").delete(f"/v1/prices/{first['id']}")
    assert (refused.status_code, refused.json()["code"]) == (409, "price_already_effective")

    promo = await created(
        api,
        "/v1/promotions",
        {
            "name": "3 for 2",
            "kind": "buy_x_get_y",
            "buy_quantity": 2,
            "get_quantity": 1,
            "starts_at": T0.isoformat(),
            "requires_code": True,
        },
    )
    assert (promo["kind"], promo["reward_percent_bp"], promo["channels"]) == ("buy_x_get_y", 10000, [])
    changed = await api.as_("merchandiser").patch(
        f"/v1/promotions/{promo['id']}", json={"priority": 5, "usage_limit": 100}
    )
    assert (changed.json()["priority"], changed.json()["usage_limit"]) == (5, 100)

    codes = await created(api, f"/v1/promotions/{promo['id']}/codes", {"generate": 50, "prefix": "vip-"})
    assert codes["max_uses"] == 1
    assert len(set(codes["codes"])) == 50
    assert all(code.startswith("VIP-") and len(code) == 14 for code in codes["codes"])
    listed = (await api.as_("merchandiser").get(f"/v1/promotions/{promo['id']}/codes", params={"limit": 20})).json()
    assert len(listed["items"]) == 20 and listed["next_cursor"]

    assert (await api.as_("merchandiser").delete(f"/v1/promotions/{promo['id']}")).status_code == 204
    live = (await api.as_("merchandiser").get("/v1/promotions")).json()["items"]
    assert promo["id"] not in [p["id"] for p in live]


@pytest.mark.usefixtures("catalog")
async def test_channel_keys_cannot_write_prices_or_promotions(api: Api) -> None:
    for label in CHANNEL_KEYS:
        response = await api.as_(label).post("/v1/prices", json={"sku": "MUG", "currency": "EUR", "amount": 1})
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


@pytest.mark.usefixtures("catalog")
async def test_a_price_post_is_idempotent(api: Api) -> None:
    headers = {"Idempotency-Key": "price-1"}
    body = {"sku": "MUG", "currency": "EUR", "amount": 1200}
    first = await api.as_("merchandiser").post("/v1/prices", json=body, headers=headers)
    again = await api.as_("merchandiser").post("/v1/prices", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"


LINE = [{"sku": "MUG", "quantity": 1}]


@pytest.mark.usefixtures("catalog")
@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/pricing/quote", {"currency": "EUR", "lines": [{"sku": "NOPE", "quantity": 1}]}, 422, "unknown_sku"),
        ("/v1/pricing/quote", {"currency": "EUR", "lines": [{"sku": "MUG", "quantity": -1}]}, 400, "validation_error"),
        ("/v1/pricing/quote", {"currency": "EUR", "lines": [{"sku": "MUG", "quantity": 0}]}, 400, "validation_error"),
        ("/v1/pricing/quote", {"currency": "EUR", "lines": []}, 400, "validation_error"),
        ("/v1/pricing/quote", {"currency": "EUR", "lines": LINE, "discount": 5}, 400, "validation_error"),
        ("/v1/pricing/quote", {"currency": "JPY", "lines": LINE}, 422, "price_not_found"),
        ("/v1/pricing/quote", {"currency": "XXX", "lines": LINE}, 422, "unsupported_currency"),
        ("/v1/pricing/quote", {"currency": "eur", "lines": LINE}, 400, "validation_error"),
        ("/v1/pricing/quote", {"currency": "EUR", "lines": LINE, "zone": "atlantis"}, 422, "unknown_zone"),
        (
            "/v1/pricing/quote",
            {"currency": "EUR", "lines": LINE, "fulfillment": {"method": "drone"}},
            400,
            "validation_error",
        ),
        ("/v1/prices", {"sku": "NOPE", "currency": "EUR", "amount": 100}, 422, "unknown_sku"),
        ("/v1/prices", {"sku": "MUG", "currency": "EUR", "amount": -1}, 400, "validation_error"),
        (
            "/v1/prices",
            {"sku": "MUG", "currency": "EUR", "amount": 100, "compare_at_amount": 100},
            422,
            "compare_at_not_above_price",
        ),
        (
            "/v1/prices",
            {"sku": "MUG", "currency": "EUR", "amount": 1, "valid_from": "2026-05-04T08:59:59Z"},
            422,
            "price_in_past",
        ),
        (
            "/v1/prices",
            {"sku": "MUG", "currency": "EUR", "amount": 1, "valid_from": "2026-06-01T00:00:00"},
            400,
            "validation_error",
        ),
        ("/v1/prices", {"sku": "MUG", "currency": "EUR", "amount": 1, "zone": "atlantis"}, 422, "unknown_zone"),
        (
            "/v1/promotions",
            {"name": "x", "kind": "percent_off_items", "starts_at": "2026-05-01T00:00:00Z"},
            422,
            "invalid_promotion",
        ),
        (
            "/v1/promotions",
            {"name": "x", "kind": "order_amount_off", "amount": 5, "starts_at": "2026-05-01T00:00:00Z"},
            422,
            "invalid_promotion",
        ),
        (
            "/v1/promotions",
            {"name": "x", "kind": "percent_off_items", "percent_bp": 10001, "starts_at": "2026-05-01T00:00:00Z"},
            400,
            "validation_error",
        ),
        (
            "/v1/promotions",
            {"name": "x", "kind": "magic", "starts_at": "2026-05-01T00:00:00Z"},
            400,
            "validation_error",
        ),
        (
            "/v1/price-zones",
            {"code": "x", "name": "x", "delivery_fees": [{"currency": "EUR", "amount": 1}] * 2},
            422,
            "duplicate_currency",
        ),
        ("/v1/price-zones", {"code": "default", "name": "again"}, 409, "price_zone_exists"),
    ],
)
async def test_bad_input_is_a_4xx_problem_and_writes_nothing(
    api: Api, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    await created(api, "/v1/prices", {"sku": "MUG", "currency": "EUR", "amount": 1200})
    response = await api.as_("merchandiser").post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    history = (await api.as_("merchandiser").get("/v1/prices", params={"sku": "MUG"})).json()["items"]
    assert [p["amount"] for p in history] == [1200]


@pytest.mark.usefixtures("catalog")
async def test_unknown_ids_are_404(api: Api) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (f"/v1/promotions/{missing}", "/v1/price-zones/atlantis", f"/v1/promotions/{missing}/codes"):
        response = await api.as_("merchandiser").get(path)
        assert response.status_code == 404, path
    both = await api.as_("merchandiser").post(f"/v1/promotions/{missing}/codes", json={"code": "A", "generate": 2})
    assert (both.status_code, both.json()["code"]) == (422, "invalid_codes_request")
