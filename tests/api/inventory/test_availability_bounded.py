"""GET /v1/availability is bounded: at most `limit` locations, nearest first with a point
(else by code), a signed cursor to the next ones; each entry carries its delivery promise."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from tests.conftest import Api
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive

POINT = (48.8566, 2.3522)
# Stores 0.1°, 0.2°, ... north of the point: nearest first is S1, S2, ... ; by code the
# names run the other way (Z-S1 > Y-S2 ...), so the two orders differ.
CODES = ["Z-S1", "Y-S2", "X-S3", "W-S4", "V-S5"]


@pytest.fixture
async def stocked(db: AsyncSession) -> tuple[str, str]:
    a, b = await make_variants(db, 2)
    await make_locations(
        db,
        *[
            LocationFactory(code=code, latitude=POINT[0] + 0.1 * (n + 1), longitude=POINT[1])
            for n, code in enumerate(CODES)
        ],
        LocationFactory(code="EMPTY-0", latitude=POINT[0], longitude=POINT[1]),  # nearest, holds nothing
    )
    for code in CODES:
        await receive(db, a, code, 2)
    await receive(db, b, "X-S3", 1)
    await db.commit()
    return a, b


def _locations(body: dict[str, Any]) -> list[str]:
    """The location codes named by an answer, in answer order (first appearance)."""
    seen: list[str] = []
    for item in body["items"]:
        for loc in item["locations"]:
            if loc["location"] not in seen:
                seen.append(loc["location"])
    return seen


async def _walk(api: Api, params: dict[str, Any]) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        r = await api.as_("storefront").get(
            "/v1/availability", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        pages.append(_locations(r.json()))
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_nearest_n_pages_by_distance(api: Api, stocked: tuple[str, str]) -> None:
    a, b = stocked
    pages = await _walk(api, {"skus": f"{a},{b}", "lat": POINT[0], "lon": POINT[1], "limit": 2})
    assert pages == [["Z-S1", "Y-S2"], ["X-S3", "W-S4"], ["V-S5"]]  # the empty store is never named
    first = (
        await api.as_("storefront").get(
            "/v1/availability", params={"skus": f"{a},{b}", "lat": POINT[0], "lon": POINT[1], "limit": 3}
        )
    ).json()
    items = {i["sku"]: i for i in first["items"]}
    assert items[a]["available_to_ship"] == 0  # stores do not ship
    assert [x["location"] for x in items[a]["locations"]] == ["Z-S1", "Y-S2", "X-S3"]
    assert [x["location"] for x in items[b]["locations"]] == ["X-S3"]
    distances = [x["distance_km"] for x in items[a]["locations"]]
    assert distances == sorted(distances) and 10 < distances[0] < 12
    # Within a radius: only what is within it, no cursor.
    r = await api.as_("storefront").get(
        "/v1/availability", params={"skus": a, "lat": POINT[0], "lon": POINT[1], "radius_km": 25, "limit": 1}
    )
    assert _locations(r.json()) == ["Z-S1"]
    nxt = await api.as_("storefront").get(
        "/v1/availability",
        params={
            "skus": a,
            "lat": POINT[0],
            "lon": POINT[1],
            "radius_km": 25,
            "limit": 1,
            "cursor": r.json()["next_cursor"],
        },
    )
    assert _locations(nxt.json()) == ["Y-S2"] and nxt.json()["next_cursor"] is None


async def test_without_a_point_pages_by_code_and_defaults_to_twenty(
    api: Api, stocked: tuple[str, str], db: AsyncSession
) -> None:
    a, _ = stocked
    assert await _walk(api, {"skus": a, "limit": 2}) == [["V-S5", "W-S4"], ["X-S3", "Y-S2"], ["Z-S1"]]
    more = [LocationFactory(code=f"M-{n:02d}") for n in range(25)]
    await make_locations(db, *more)
    for loc in more:
        await receive(db, a, loc.code, 1)
    await db.commit()
    r = await api.as_("storefront").get("/v1/availability", params={"skus": a})
    assert len(_locations(r.json())) == 20 and r.json()["next_cursor"] is not None
    assert sum(len(p) for p in await _walk(api, {"skus": a, "limit": 100})) == 30


async def test_bad_limits_and_cursors_are_refused(api: Api, stocked: tuple[str, str]) -> None:
    a, _ = stocked
    client = api.as_("storefront")
    for limit in (0, 101):
        r = await client.get("/v1/availability", params={"skus": a, "limit": limit})
        assert r.status_code == 400, r.text
    by_code = (await client.get("/v1/availability", params={"skus": a, "limit": 1})).json()["next_cursor"]
    near = (
        await client.get("/v1/availability", params={"skus": a, "lat": POINT[0], "lon": POINT[1], "limit": 1})
    ).json()["next_cursor"]
    for params in (
        {"skus": a, "cursor": by_code + "x"},  # edited
        {"skus": a, "cursor": near},  # a cursor of the nearest-first list
        {"skus": a, "lat": POINT[0], "lon": POINT[1], "cursor": by_code},
        {"skus": a, "lat": POINT[0] + 1, "lon": POINT[1], "cursor": near},  # another point
    ):
        r = await client.get("/v1/availability", params=params)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_cursor"


async def test_each_location_carries_its_promise(api: Api, db: AsyncSession) -> None:
    (a,) = await make_variants(db, 1)
    await make_locations(
        db,
        LocationFactory(
            code="P-STORE",
            time_zone="Europe/Berlin",
            order_cutoff=time(18),
            handling_hours=1,
            shipping_days=[1, 2, 3, 4, 5, 6],
        ),
        LocationFactory(
            code="P-WH",
            kind="warehouse",
            time_zone="Europe/Berlin",
            order_cutoff=time(15),
            handling_hours=2,
            transit_days=1,
            transit_days_by_country={"FR": 3},
            shipping_days=[1, 2, 3, 4, 5],
        ),
    )
    await receive(db, a, "P-STORE", 2)
    await receive(db, a, "P-WH", 5)
    await db.commit()
    berlin = ZoneInfo("Europe/Berlin")
    clock.freeze(datetime(2026, 12, 11, 10, 0, tzinfo=berlin))  # a Friday morning
    r = await api.as_("storefront").get("/v1/availability", params={"skus": a})
    entries = {x["location"]: x for x in r.json()["items"][0]["locations"]}
    assert entries["P-STORE"]["ready_by"] == "2026-12-11T10:00:00Z"  # 11:00 Berlin
    assert entries["P-STORE"]["delivery_by"] is None  # the store does not ship
    assert entries["P-WH"]["delivery_by"] == "2026-12-12"  # leaves Friday, Saturday delivery
    assert entries["P-WH"]["ready_by"] is None
    fr = await api.as_("storefront").get("/v1/availability", params={"skus": a, "country": "FR"})
    assert {x["location"]: x for x in fr.json()["items"][0]["locations"]}["P-WH"]["delivery_by"] == "2026-12-15"
    clock.freeze(datetime(2026, 12, 11, 16, 0, tzinfo=berlin))  # after the warehouse's cut-off
    late = await api.as_("storefront").get("/v1/availability", params={"skus": a})
    assert {x["location"]: x for x in late.json()["items"][0]["locations"]}["P-WH"]["delivery_by"] == "2026-12-15"
