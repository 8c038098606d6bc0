"""Stock ledger, reservations and the integrity check on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.inventory import service
from app.inventory.errors import (
    DuplicateLine,
    ExceedsOpenQuantity,
    InsufficientStock,
    InvalidReason,
    OnHandWouldGoNegative,
    ReferenceInUse,
    UnknownLocation,
    UnknownSku,
)
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive


@pytest.fixture
async def world(db: AsyncSession) -> tuple[list[str], list[str]]:
    skus = await make_variants(db, 3)
    locs = await make_locations(
        db,
        LocationFactory(code="WH-1", kind="warehouse"),
        LocationFactory(code="ST-1"),
        LocationFactory(code="ST-2", default_safety_stock=1),
    )
    return skus, locs


async def test_adjust_writes_ledger_and_event(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    level = await service.adjust(db, sku=a, location_code="WH-1", delta=10, reason="receipt", reference="po:1")
    assert (level.on_hand, level.reserved, level.available) == (10, 0, 10)
    level = await service.adjust(db, sku=a, location_code="WH-1", delta=-3, reason="damage")
    assert level.on_hand == 7
    page = await service.ledger(db, sku=a, limit=10)
    assert [(e.delta, e.on_hand_after, e.reason) for e in page.items] == [(-3, 7, "damage"), (10, 10, "receipt")]
    assert page.items[1].reference == "po:1"
    assert await service.check_integrity(db) == []


async def test_adjust_refuses_negative_and_bad_reasons(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    await receive(db, a, "WH-1", 2)
    with pytest.raises(OnHandWouldGoNegative):
        await service.adjust(db, sku=a, location_code="WH-1", delta=-3, reason="damage")
    with pytest.raises(InvalidReason):
        await service.adjust(db, sku=a, location_code="WH-1", delta=-1, reason="receipt")
    with pytest.raises(InvalidReason):
        await service.adjust(db, sku=a, location_code="WH-1", delta=1, reason="sale")
    with pytest.raises(UnknownSku):
        await service.adjust(db, sku="NOPE", location_code="WH-1", delta=1, reason="receipt")
    with pytest.raises(UnknownLocation):
        await service.adjust(db, sku=a, location_code="NOPE", delta=1, reason="receipt")
    page = await service.ledger(db, sku=a, limit=10)
    assert len(page.items) == 1


async def test_reserve_release_consume(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, b, _), _ = world
    await receive(db, a, "WH-1", 5)
    await receive(db, b, "ST-1", 2)
    res = await service.reserve(db, reference="order:1", lines=[(b, "ST-1", 2), (a, "WH-1", 3)])
    assert res.status == "open"
    assert [(x.sku, x.location, x.open) for x in res.lines] == sorted([(a, "WH-1", 3), (b, "ST-1", 2)])
    levels = await service.available_by_location(db, [a, b])
    assert levels == {(a, "WH-1"): 2, (b, "ST-1"): 0}

    res = await service.release(db, reference="order:1", lines=[(a, "WH-1", 1)])
    assert {x.sku: (x.released, x.open) for x in res.lines}[a] == (1, 2)
    res = await service.consume(db, reference="order:1", ledger_reference="shipment:9")
    assert res.status == "consumed"
    levels = await service.available_by_location(db, [a, b])
    assert levels == {(a, "WH-1"): 3, (b, "ST-1"): 0}
    sale = (await service.ledger(db, sku=a, location_code="WH-1", limit=1)).items[0]
    assert (sale.delta, sale.on_hand_after, sale.reason, sale.reference) == (-2, 3, "sale", "shipment:9")
    # nothing left to release: a no-op, not an error
    again = await service.release(db, reference="order:1")
    assert again.status == "consumed"
    assert await service.check_integrity(db) == []


async def test_reserve_is_all_or_nothing(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, b, c), _ = world
    await receive(db, a, "WH-1", 5)
    await receive(db, b, "WH-1", 1)
    with pytest.raises(InsufficientStock) as info:
        await service.reserve(db, reference="order:2", lines=[(a, "WH-1", 2), (b, "WH-1", 2), (c, "WH-1", 1)])
    assert info.value.extra["lines"] == sorted(
        [
            {"sku": b, "location": "WH-1", "requested": 2, "available": 1},
            {"sku": c, "location": "WH-1", "requested": 1, "available": 0},
        ],
        key=lambda x: x["sku"],
    )
    assert await service.available_by_location(db, [a, b]) == {(a, "WH-1"): 5, (b, "WH-1"): 1}
    assert await service.check_integrity(db) == []


async def test_safety_stock_limits_reservations(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    await receive(db, a, "ST-2", 3)  # location default safety stock 1
    with pytest.raises(InsufficientStock) as info:
        await service.reserve(db, reference="hold:1", lines=[(a, "ST-2", 3)])
    assert info.value.extra["lines"][0]["available"] == 2
    level = await service.set_safety_stock(db, sku=a, location_code="ST-2", safety_stock=0)
    assert (level.safety_stock, level.safety_stock_override, level.available) == (0, 0, 3)
    await service.reserve(db, reference="hold:1", lines=[(a, "ST-2", 3)])


async def test_same_reference_is_idempotent(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    await receive(db, a, "WH-1", 5)
    first = await service.reserve(db, reference="cart:1", lines=[(a, "WH-1", 2)])
    again = await service.reserve(db, reference="cart:1", lines=[(a, "WH-1", 2)])
    assert again.id == first.id
    with pytest.raises(ReferenceInUse):
        await service.reserve(db, reference="cart:1", lines=[(a, "WH-1", 1)])
    assert await service.available_by_location(db, [a]) == {(a, "WH-1"): 3}


async def test_bad_reservation_input(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    await receive(db, a, "WH-1", 5)
    with pytest.raises(DuplicateLine):
        await service.reserve(db, reference="x", lines=[(a, "WH-1", 1), (a, "WH-1", 1)])
    with pytest.raises(UnknownSku):
        await service.reserve(db, reference="x", lines=[("NOPE", "WH-1", 1)])
    with pytest.raises(UnknownLocation):
        await service.reserve(db, reference="x", lines=[(a, "NOPE", 1), (a, "WH-1", 1)])
    await service.reserve(db, reference="x", lines=[(a, "WH-1", 1)])
    with pytest.raises(ExceedsOpenQuantity):
        await service.release(db, reference="x", lines=[(a, "WH-1", 2)])


async def test_expiry_releases_once(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    await receive(db, a, "ST-1", 4)
    await service.reserve(db, reference="hold:k", lines=[(a, "ST-1", 3)], expires_at=clock.now() + timedelta(minutes=5))
    await service.reserve(db, reference="order:k", lines=[(a, "ST-1", 1)])
    assert await service.expire_reservations(db) == 0
    clock.advance(timedelta(minutes=6))
    assert await service.expire_reservations(db) == 1
    assert await service.expire_reservations(db) == 0
    assert (await service.get_reservation(db, reference="hold:k")).status == "released"
    assert await service.available_by_location(db, [a]) == {(a, "ST-1"): 3}
    assert await service.check_integrity(db) == []


async def test_check_reports_drift(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    from sqlalchemy import text

    (a, _, _), _ = world
    await receive(db, a, "WH-1", 5)
    await db.execute(text("UPDATE stock_levels SET on_hand = 7, reserved = 1 WHERE sku = :s"), {"s": a})
    findings = {(f.check, f.actual, f.expected) for f in await service.check_integrity(db)}
    assert findings == {
        ("on_hand_differs_from_ledger", 7, 5),
        ("reserved_differs_from_open_reservations", 1, 0),
    }


async def test_on_hand_at_reads_the_past(db: AsyncSession, world: tuple[list[str], list[str]]) -> None:
    (a, _, _), _ = world
    t0 = clock.now()
    clock.freeze(t0)
    await receive(db, a, "WH-1", 10)
    clock.advance(timedelta(hours=1))
    await service.adjust(db, sku=a, location_code="WH-1", delta=-4, reason="damage")
    assert (await service.on_hand_at(db, sku=a, location_code="WH-1", at=t0 - timedelta(seconds=1))).on_hand == 0
    assert (await service.on_hand_at(db, sku=a, location_code="WH-1", at=t0 + timedelta(minutes=30))).on_hand == 10
    assert (await service.on_hand_at(db, sku=a, location_code="WH-1", at=clock.now())).on_hand == 6


async def test_sourcing_locations_read_only_the_stock_that_could_serve(db: AsyncSession) -> None:
    a, b, c = await make_variants(db, 3)
    await make_locations(
        db,
        LocationFactory(code="SRC-WH", kind="warehouse"),
        LocationFactory(code="SRC-ST", latitude=45.75, longitude=4.85),  # pickup, does not ship
        LocationFactory(code="SRC-SHIP", ships=True, default_safety_stock=1),
        LocationFactory(code="SRC-OFF", kind="warehouse", active=False),
    )
    for sku, loc, qty in [(a, "SRC-WH", 5), (b, "SRC-WH", 1), (a, "SRC-ST", 3), (a, "SRC-SHIP", 2), (a, "SRC-OFF", 4)]:
        await receive(db, sku, loc, qty)
    await receive(db, c, "SRC-WH", 9)  # not asked for
    await service.reserve(db, reference="order:src", lines=[(b, "SRC-WH", 1)])

    def seen(found: list[service.LocationStock]) -> dict[str, dict[str, int]]:
        return {loc.code: loc.available for loc in found if loc.code.startswith("SRC-")}

    delivery = await service.sourcing_locations(db, [a, b], serves="delivery")
    # Every location (the plan explains each), stock only where it is active and ships.
    assert seen(delivery) == {"SRC-OFF": {}, "SRC-SHIP": {a: 1}, "SRC-ST": {}, "SRC-WH": {a: 5, b: 0}}
    assert [loc.code for loc in delivery] == sorted(loc.code for loc in delivery)
    store = next(loc for loc in delivery if loc.code == "SRC-ST")
    assert (store.kind, store.ships, store.pickup, store.active, store.latitude) == ("store", False, True, True, 45.75)
    assert next(loc for loc in delivery if loc.code == "SRC-OFF").active is False

    pickup = await service.sourcing_locations(db, [a, b], serves="pickup", pickup_location="SRC-ST")
    assert {loc.code for loc in pickup} >= {"SRC-ST", "SRC-WH", "SRC-OFF"}
    assert all(loc.kind == "warehouse" or loc.code == "SRC-ST" for loc in pickup)
    assert seen(pickup) == {"SRC-OFF": {}, "SRC-ST": {a: 3}, "SRC-WH": {a: 5, b: 0}}

    anywhere = await service.sourcing_locations(db, [a])
    assert seen(anywhere) == {"SRC-OFF": {}, "SRC-SHIP": {a: 1}, "SRC-ST": {a: 3}, "SRC-WH": {a: 5}}
