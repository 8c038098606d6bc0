"""Inventory over HTTP: locations, stock, sync, transfers, reservations, availability, bad input."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core import clock
from app.core.auth import Channel, Role, create_key
from app.inventory import service
from app.inventory.models import Location, Reservation, StockMovement
from tests.conftest import TEST_STORE, TEST_WAREHOUSE, Api
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive

PARIS = (48.8566, 2.3522)


@pytest.fixture
async def skus(db: AsyncSession) -> list[str]:
    found = await make_variants(db, 3)
    await make_locations(
        db,
        LocationFactory(code=TEST_WAREHOUSE, kind="warehouse", latitude=48.80, longitude=2.20),
        LocationFactory(code=TEST_STORE, latitude=48.8570, longitude=2.3530),  # ~0.1 km from the point
        LocationFactory(code="ST-FAR", latitude=45.76, longitude=4.83),  # Lyon, ~390 km
    )
    await receive(db, found[0], TEST_WAREHOUSE, 10)
    await receive(db, found[0], TEST_STORE, 3)
    await receive(db, found[0], "ST-FAR", 4)
    await db.commit()
    return found


async def _ledger_rows(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(StockMovement)) or 0)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# ---- locations ----------------------------------------------------------------------------------------


async def test_location_crud(api: Api) -> None:
    admin = api.as_("admin")
    zone = await api.as_("merchandiser").post("/v1/price-zones", json={"code": "FR-PARIS", "name": "Paris"})
    assert zone.status_code == 201, zone.text
    body = {
        "code": "ST-9",
        "name": "Rivoli",
        "kind": "store",
        "latitude": 48.86,
        "longitude": 2.34,
        "time_zone": "Europe/Paris",
        "zone": "FR-PARIS",
    }
    created = await admin.post("/v1/locations", json=body)
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["ships"], out["pickup"], out["accepts_returns"], out["daily_capacity"]) == (False, True, True, 50)
    wh = await admin.post("/v1/locations", json={**body, "code": "WH-9", "kind": "warehouse"})
    assert (wh.json()["ships"], wh.json()["pickup"], wh.json()["accepts_returns"]) == (True, False, False)
    _problem(await admin.post("/v1/locations", json=body), 409, "location_exists")
    _problem(
        await admin.post("/v1/locations", json={**body, "code": "X", "kind": "warehouse", "ships": False}),
        422,
        "invalid_location",
    )
    _problem(
        await admin.post("/v1/locations", json={**body, "code": "Y", "time_zone": "Mars/Olympus"}),
        422,
        "invalid_time_zone",
    )
    _problem(await admin.post("/v1/locations", json={**body, "code": "Z", "latitude": 91}), 400, "validation_error")
    changed = await admin.patch("/v1/locations/ST-9", json={"ships": True, "daily_capacity": 80})
    assert (changed.json()["ships"], changed.json()["daily_capacity"]) == (True, 80)
    listed = await api.as_("kiosk").get("/v1/locations", params={"kind": "store", "ships": "true"})
    assert [loc["code"] for loc in listed.json()["items"]] == ["ST-9"]
    assert (await api.as_("kiosk").post("/v1/locations", json=body)).status_code == 403
    assert (await admin.delete("/v1/locations/WH-9")).status_code == 204
    _problem(await admin.get("/v1/locations/WH-9"), 404, "location_not_found")


async def test_location_zone_must_name_a_price_zone(api: Api, db: AsyncSession) -> None:
    """A zone that names no price zone would refuse every order through the store later
    (`unknown_zone`): it is refused when set, naming the field, and nothing is written."""
    admin = api.as_("admin")
    body = {
        "code": "ST-Z",
        "name": "Nowhere",
        "kind": "store",
        "latitude": 48.86,
        "longitude": 2.34,
        "time_zone": "Europe/Paris",
    }
    refused = _problem(await admin.post("/v1/locations", json={**body, "zone": "NO-SUCH"}), 422, "unknown_price_zone")
    assert refused["extra"]["field"] == "zone"
    assert await db.scalar(select(func.count()).select_from(Location).where(Location.code == "ST-Z")) == 0
    assert (await admin.post("/v1/locations", json={**body, "zone": "default"})).status_code == 201
    refused = _problem(await admin.patch("/v1/locations/ST-Z", json={"zone": "NO-SUCH"}), 422, "unknown_price_zone")
    assert refused["extra"]["field"] == "zone"
    assert (await admin.get("/v1/locations/ST-Z")).json()["zone"] == "default"
    await api.as_("merchandiser").post("/v1/price-zones", json={"code": "FR-LYON", "name": "Lyon"})
    changed = await admin.patch("/v1/locations/ST-Z", json={"zone": "FR-LYON"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["zone"] == "FR-LYON"
    cleared = await admin.patch("/v1/locations/ST-Z", json={"zone": None})
    assert cleared.json()["zone"] is None


# ---- stock ---------------------------------------------------------------------------------------------


async def test_adjust_count_ledger_on_hand_at(api: Api, skus: list[str], db: AsyncSession) -> None:
    a = skus[0]
    admin = api.as_("admin")
    before = clock.now()
    r = await admin.post(
        "/v1/stock/adjustments",
        json={"sku": a, "location": TEST_WAREHOUSE, "delta": -2, "reason": "damage", "reference": "dmg:1"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["on_hand"], r.json()["available"]) == (8, 8)
    r = await admin.post("/v1/stock/counts", json={"location": TEST_WAREHOUSE, "lines": [{"sku": a, "on_hand": 5}]})
    assert r.status_code == 201, r.text
    assert r.json()[0]["on_hand"] == 5
    ledger = (await admin.get("/v1/stock/ledger", params={"sku": a, "location": TEST_WAREHOUSE, "limit": 2})).json()
    assert [(e["delta"], e["on_hand_after"], e["reason"]) for e in ledger["items"]] == [
        (-3, 5, "cycle_count"),
        (-2, 8, "damage"),
    ]
    assert ledger["next_cursor"]
    rest = (
        await admin.get(
            "/v1/stock/ledger", params={"sku": a, "location": TEST_WAREHOUSE, "cursor": ledger["next_cursor"]}
        )
    ).json()
    assert [(e["delta"], e["reason"]) for e in rest["items"]] == [(10, "receipt")]
    past = await admin.get(
        "/v1/stock/on-hand-at", params={"sku": a, "location": TEST_WAREHOUSE, "at": before.isoformat()}
    )
    assert past.json()["on_hand"] == 10
    levels = (await api.as_("logistics").get("/v1/stock")).json()["items"]
    assert [(x["sku"], x["location"], x["on_hand"]) for x in levels] == [(a, TEST_WAREHOUSE, 5)]
    assert (await api.as_("logistics").get("/v1/stock", params={"location": TEST_STORE})).status_code == 403
    assert (await api.as_("pos").get("/v1/stock/ledger", params={"location": TEST_WAREHOUSE})).status_code == 403


async def test_bad_stock_input_writes_nothing(api: Api, skus: list[str], db: AsyncSession) -> None:
    a = skus[0]
    admin = api.as_("admin")
    rows = await _ledger_rows(db)
    adjust = {"sku": a, "location": TEST_WAREHOUSE, "delta": -11, "reason": "damage"}
    _problem(await admin.post("/v1/stock/adjustments", json=adjust), 409, "on_hand_would_go_negative")
    _problem(await admin.post("/v1/stock/adjustments", json={**adjust, "delta": 0}), 422, "invalid_reason")
    _problem(
        await admin.post("/v1/stock/adjustments", json={**adjust, "delta": 1, "reason": "sale"}),
        400,
        "validation_error",
    )
    _problem(
        await admin.post("/v1/stock/adjustments", json={**adjust, "delta": 1, "reason": "receipt", "sku": "NOPE"}),
        422,
        "unknown_sku",
    )
    _problem(
        await admin.post("/v1/stock/adjustments", json={**adjust, "delta": 1, "reason": "receipt", "location": "NOPE"}),
        422,
        "unknown_location",
    )
    _problem(await admin.post("/v1/stock/adjustments", json={**adjust, "extra": 1}), 400, "validation_error")
    _problem(await admin.post("/v1/stock/adjustments", json={**adjust, "delta": "ten"}), 400, "validation_error")
    count = {"location": TEST_WAREHOUSE, "lines": [{"sku": a, "on_hand": 1}, {"sku": a, "on_hand": 2}]}
    _problem(await admin.post("/v1/stock/counts", json=count), 422, "duplicate_line")
    _problem(
        await admin.post("/v1/stock/counts", json={**count, "lines": [{"sku": a, "on_hand": -1}]}),
        400,
        "validation_error",
    )
    # a logistics key adjusts its own warehouse only
    r = await api.as_("logistics").post(
        "/v1/stock/adjustments", json={**adjust, "location": TEST_STORE, "delta": 1, "reason": "receipt"}
    )
    assert r.status_code == 403
    assert await _ledger_rows(db) == rows


async def test_pos_sync_is_idempotent_and_applies_late_counts_as_of_counted_at(
    api: Api, skus: list[str], db: AsyncSession
) -> None:
    a, b, _ = skus
    pos = api.as_("pos")
    t0 = clock.now()  # the store counts a (3 on hand) at t0 ...
    clock.advance(timedelta(minutes=5))  # ... and sells one at t0 + 5 min, before the count arrives
    await service.reserve(db, reference="order:s", lines=[(a, TEST_STORE, 1)])
    await service.consume(db, reference="order:s")
    await db.commit()
    batch = {
        "batch_id": "b-1",
        "location": TEST_STORE,
        "lines": [
            {"sku": a, "on_hand": 2, "counted_at": t0.isoformat()},  # ledger said 3 then: -1, on top of the sale
            {"sku": b, "on_hand": 6, "counted_at": clock.now().isoformat()},  # new at this store
        ],
    }
    r = await pos.post("/v1/stock/sync", json=batch)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "batch_id": "b-1",
        "location": TEST_STORE,
        "lines": 2,
        "applied": 2,
        "unchanged": 0,
        "rejected": [],
        "replayed": False,
    }
    levels = {x["sku"]: x["on_hand"] for x in (await pos.get("/v1/stock")).json()["items"]}
    assert levels == {a: 1, b: 6}
    rows = await _ledger_rows(db)
    again = await pos.post("/v1/stock/sync", json=batch)
    assert again.json()["replayed"] is True and again.json()["applied"] == 2
    assert await _ledger_rows(db) == rows
    # a count older than the sale that contradicts it (0 counted, sale of 1 after) is rejected
    # ledger at t0 + 1 min held 2; counting 0 then, minus the later sale, would leave -1
    stale = {
        "batch_id": "b-2",
        "location": TEST_STORE,
        "lines": [{"sku": a, "on_hand": 0, "counted_at": (t0 + timedelta(minutes=1)).isoformat()}],
    }
    r = await pos.post("/v1/stock/sync", json=stale)
    assert r.json()["rejected"][0]["reason"] == "count_conflicts_with_later_movements"
    assert await _ledger_rows(db) == rows
    # the POS key syncs its own store only; bad batches write nothing
    assert (
        await pos.post("/v1/stock/sync", json={**batch, "batch_id": "b-3", "location": TEST_WAREHOUSE})
    ).status_code == 403
    dup = {**batch, "batch_id": "b-4", "lines": [batch["lines"][0], batch["lines"][0]]}
    _problem(await pos.post("/v1/stock/sync", json=dup), 422, "duplicate_line")
    unknown = {**batch, "batch_id": "b-5", "lines": [{**batch["lines"][0], "sku": "NOPE"}]}
    _problem(await pos.post("/v1/stock/sync", json=unknown), 422, "unknown_sku")
    line = {"sku": a, "on_hand": 1, "counted_at": clock.now().isoformat()}
    too_many = {"batch_id": "b-6", "location": TEST_STORE, "lines": [{**line, "sku": f"S{n}"} for n in range(10_001)]}
    _problem(await pos.post("/v1/stock/sync", json=too_many), 422, "batch_too_large")
    naive = {"batch_id": "b-7", "location": TEST_STORE, "lines": [{**line, "counted_at": "2026-01-01T10:00:00"}]}
    _problem(await pos.post("/v1/stock/sync", json=naive), 400, "validation_error")
    assert await _ledger_rows(db) == rows


async def test_transfer_dispatch_and_receive(api: Api, skus: list[str]) -> None:
    a = skus[0]
    logistics = api.as_("logistics")
    r = await logistics.post(
        "/v1/transfers",
        json={"from_location": TEST_WAREHOUSE, "to_location": TEST_STORE, "lines": [{"sku": a, "quantity": 4}]},
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    r = await logistics.post(f"/v1/transfers/{tid}/dispatch")
    assert r.json()["status"] == "dispatched"
    levels = {x["location"]: x for x in (await api.as_("admin").get("/v1/stock", params={"sku": a})).json()["items"]}
    assert (levels[TEST_WAREHOUSE]["on_hand"], levels[TEST_STORE]["in_transit"], levels[TEST_STORE]["on_hand"]) == (
        6,
        4,
        3,
    )
    in_transit = (await logistics.get("/v1/transfers", params={"status": "dispatched"})).json()["items"]
    assert [t["id"] for t in in_transit] == [tid]
    _problem(await logistics.post(f"/v1/transfers/{tid}/dispatch"), 409, "invalid_transfer_transition")
    assert (await logistics.post(f"/v1/transfers/{tid}/receive")).status_code == 403  # the store receives
    r = await api.as_("integration").post(f"/v1/transfers/{tid}/receive")
    assert r.json()["status"] == "received"
    levels = {x["location"]: x for x in (await api.as_("admin").get("/v1/stock", params={"sku": a})).json()["items"]}
    assert (levels[TEST_STORE]["on_hand"], levels[TEST_STORE]["in_transit"]) == (7, 0)
    too_much = await logistics.post(
        "/v1/transfers",
        json={"from_location": TEST_WAREHOUSE, "to_location": TEST_STORE, "lines": [{"sku": a, "quantity": 7}]},
    )
    body = _problem(await logistics.post(f"/v1/transfers/{too_much.json()['id']}/dispatch"), 409, "insufficient_stock")
    assert body["extra"]["lines"] == [{"sku": a, "location": TEST_WAREHOUSE, "requested": 7, "available": 6}]
    _problem(
        await logistics.post(
            "/v1/transfers",
            json={"from_location": TEST_WAREHOUSE, "to_location": TEST_STORE, "lines": [{"sku": a, "quantity": 0}]},
        ),
        400,
        "validation_error",
    )


async def test_transfer_actions_refuse_another_locations_key(
    api: Api, skus: list[str], db: AsyncSession, engine: AsyncEngine
) -> None:
    """A logistics key at neither end may not see or act on a transfer; each action reads the
    transfer once (the location check is made on the row the action locks)."""
    body = {"from_location": "ST-FAR", "to_location": TEST_STORE, "lines": [{"sku": skus[0], "quantity": 1}]}
    r = await api.as_("integration").post("/v1/transfers", json=body)
    assert r.status_code == 201, r.text
    url = f"/v1/transfers/{r.json()['id']}"
    _, far_key = await create_key(db, role=Role.LOGISTICS, name="far", location_code="ST-FAR")
    await db.commit()
    far, foreign = api.with_key(far_key), api.as_("logistics")  # the latter is bound to TEST_WAREHOUSE
    for response in [
        await foreign.get(url),
        await foreign.post(f"{url}/dispatch"),
        await foreign.post(f"{url}/cancel"),
    ]:
        refused = _problem(response, 403, "forbidden")
        assert refused["detail"] == "this key acts for another location"
    _problem(await foreign.post(f"/v1/transfers/{uuid.uuid4()}/dispatch"), 404, "transfer_not_found")
    assert (await far.get(url)).json()["status"] == "draft"

    reads: list[str] = []

    def _seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT") and "FROM transfers" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", _seen)
    try:
        assert (await far.post(f"{url}/dispatch")).json()["status"] == "dispatched"
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _seen)
    assert len(reads) == 1, reads
    _problem(await far.post(f"{url}/receive"), 403, "forbidden")  # the destination receives
    assert (await api.as_("pos").get("/v1/stock", params={"sku": skus[0]})).json()["items"][0]["in_transit"] == 1


# ---- reservations --------------------------------------------------------------------------------------


async def test_hold_release_consume_over_http(api: Api, skus: list[str], db: AsyncSession) -> None:
    a = skus[0]
    kiosk = api.as_("kiosk")
    r = await kiosk.post(
        "/v1/reservations", json={"reference": "hold:k1", "lines": [{"sku": a, "location": TEST_STORE, "quantity": 2}]}
    )
    assert r.status_code == 201, r.text
    hold = r.json()
    assert hold["status"] == "open" and hold["expires_at"] is not None  # kiosk holds always expire
    again = await kiosk.post(
        "/v1/reservations", json={"reference": "hold:k1", "lines": [{"sku": a, "location": TEST_STORE, "quantity": 2}]}
    )
    assert again.json()["id"] == hold["id"]
    body = _problem(
        await kiosk.post(
            "/v1/reservations",
            json={"reference": "hold:k2", "lines": [{"sku": a, "location": TEST_STORE, "quantity": 2}]},
        ),
        409,
        "insufficient_stock",
    )
    assert body["extra"]["lines"] == [{"sku": a, "location": TEST_STORE, "requested": 2, "available": 1}]
    assert (
        await kiosk.post(
            "/v1/reservations",
            json={"reference": "hold:k3", "lines": [{"sku": a, "location": TEST_WAREHOUSE, "quantity": 1}]},
        )
    ).status_code == 403
    r = await kiosk.post(
        f"/v1/reservations/{hold['id']}/release", json={"lines": [{"sku": a, "location": TEST_STORE, "quantity": 1}]}
    )
    assert r.json()["lines"][0]["open"] == 1
    # a till sale: the POS consumes what its own store's till held
    till = await api.as_("pos").post(f"/v1/reservations/{hold['id']}/consume", json={"sale_reference": "till:1"})
    _problem(till, 403, "not_reservation_holder")
    r = await kiosk.post(f"/v1/reservations/{hold['id']}/release", json={})
    assert r.json()["status"] == "released"
    r = await api.as_("pos").post(
        "/v1/reservations", json={"reference": "till:1", "lines": [{"sku": a, "location": TEST_STORE, "quantity": 1}]}
    )
    assert r.status_code == 201, r.text
    hold = r.json()
    r = await api.as_("pos").post(f"/v1/reservations/{hold['id']}/consume", json={"sale_reference": "receipt:1"})
    assert r.json()["status"] == "consumed"
    sale = await db.scalar(select(StockMovement).where(StockMovement.reason == "sale"))
    assert sale is not None and sale.reference == "receipt:1"
    _problem(
        await api.as_("pos").post(
            f"/v1/reservations/{hold['id']}/release",
            json={"lines": [{"sku": a, "location": TEST_STORE, "quantity": 1}]},
        ),
        409,
        "exceeds_open_quantity",
    )
    assert await service.check_integrity(db) == []


async def test_bad_reservations_write_nothing(api: Api, skus: list[str], db: AsyncSession) -> None:
    a = skus[0]
    web = api.as_("storefront")
    line = {"sku": a, "location": TEST_WAREHOUSE, "quantity": 1}
    _problem(
        await web.post("/v1/reservations", json={"reference": "cart:1", "lines": [{**line, "quantity": 0}]}),
        400,
        "validation_error",
    )
    _problem(
        await web.post("/v1/reservations", json={"reference": "cart:1", "lines": [{**line, "quantity": -1}]}),
        400,
        "validation_error",
    )
    _problem(
        await web.post("/v1/reservations", json={"reference": "cart:1", "lines": [{**line, "sku": "NOPE"}]}),
        422,
        "unknown_sku",
    )
    _problem(
        await web.post("/v1/reservations", json={"reference": "cart:1", "lines": [{**line, "location": "NOPE"}]}),
        422,
        "unknown_location",
    )
    _problem(
        await web.post("/v1/reservations", json={"reference": "cart:1", "lines": [line, line]}), 422, "duplicate_line"
    )
    _problem(await web.post("/v1/reservations", json={"reference": "cart:1", "lines": []}), 400, "validation_error")
    _problem(
        await web.post(
            "/v1/reservations", json={"reference": "cart:1", "lines": [line], "expires_at": "2020-01-01T00:00:00Z"}
        ),
        422,
        "invalid_expiry",
    )
    assert await db.scalar(select(func.count()).select_from(Reservation)) == 0
    assert await service.available_by_location(db, [a], [TEST_WAREHOUSE]) == {(a, TEST_WAREHOUSE): 10}


# ---- availability ----------------------------------------------------------------------------------------


async def test_availability_total_nearest_first_and_channel(api: Api, skus: list[str], db: AsyncSession) -> None:
    a, b, _ = skus
    hidden = (await make_variants(db, 1, not_sold_in=["kiosk"]))[0]
    await receive(db, hidden, TEST_WAREHOUSE, 5)
    await db.commit()
    r = await api.as_("kiosk").get(
        "/v1/availability", params={"skus": f"{a},{b},{hidden},NOPE", "lat": PARIS[0], "lon": PARIS[1]}
    )
    assert r.status_code == 200, r.text
    items = {x["sku"]: x for x in r.json()["items"]}
    assert items[a]["available_to_ship"] == 10  # only the warehouse ships
    assert [(x["location"], x["available"]) for x in items[a]["locations"]] == [
        (TEST_STORE, 3),
        (TEST_WAREHOUSE, 10),
        ("ST-FAR", 4),
    ]
    assert items[a]["locations"][0]["distance_km"] < 1
    assert items[b] == {"sku": b, "available_to_ship": 0, "locations": [], "reason": None}
    assert items[hidden]["reason"] == "not_sold_in_channel" and items[hidden]["available_to_ship"] == 0
    assert items["NOPE"]["reason"] == "unknown_sku"
    near = await api.as_("storefront").get(
        "/v1/availability", params={"skus": a, "lat": PARIS[0], "lon": PARIS[1], "radius_km": 50, "pickup_only": "true"}
    )
    assert [x["location"] for x in near.json()["items"][0]["locations"]] == [TEST_STORE]
    web = await api.as_("storefront").get("/v1/availability", params={"skus": hidden})
    assert web.json()["items"][0]["available_to_ship"] == 5
    _problem(
        await api.as_("storefront").get("/v1/availability", params={"skus": ",".join(f"S{n}" for n in range(201))}),
        422,
        "too_many_skus",
    )
    _problem(
        await api.as_("storefront").get("/v1/availability", params={"skus": a, "radius_km": 5}), 422, "invalid_point"
    )
    _problem(
        await api.as_("storefront").get("/v1/availability", params={"skus": a, "lat": 100, "lon": 0}),
        400,
        "validation_error",
    )


async def test_reservation_actions_refuse_another_locations_key(api: Api, skus: list[str], db: AsyncSession) -> None:
    """A store's key may not read, release or consume a hold of another location; the check
    is made on the reservation the action locks, and refuses before anything moves."""
    r = await api.as_("kiosk").post(
        "/v1/reservations",
        json={"reference": "hold:far", "lines": [{"sku": skus[0], "location": TEST_STORE, "quantity": 1}]},
    )
    assert r.status_code == 201, r.text
    url = f"/v1/reservations/{r.json()['id']}"
    _, far_key = await create_key(db, role=Role.POS, name="far pos", channel=Channel.POS, location_code="ST-FAR")
    await db.commit()
    far = api.with_key(far_key)
    for response in [
        await far.get(url),
        await far.post(f"{url}/release", json={}),
        await far.post(f"{url}/consume", json={"sale_reference": "pickup:far"}),
    ]:
        _problem(response, 403, "not_reservation_holder")
    _problem(await far.post(f"/v1/reservations/{uuid.uuid4()}/release", json={}), 404, "reservation_not_found")
    held = (await api.as_("kiosk").get(url)).json()
    assert held["status"] == "open" and held["lines"][0]["open"] == 1
    assert await service.check_integrity(db) == []
