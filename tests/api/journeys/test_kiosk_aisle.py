"""Issue 14, kiosk (endless aisle): a shopper at the kiosk asks for a jacket in every size;
one call answers each size here / at a pickup store nearby / delivered — with the kiosk's
key alone (its store: STORE-TEST)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Api
from tests.factories import persist
from tests.factories.catalog import CategoryFactory, ProductFactory, VariantFactory
from tests.factories.inventory import LocationFactory, make_locations, receive

LOUVRE = (48.8606, 2.3376)


async def _shop(db: AsyncSession) -> tuple[str, str]:
    outdoor = CategoryFactory(code="outdoor")
    jacket = ProductFactory(category=outdoor, name="Trail jacket")
    socks = ProductFactory(category=outdoor, name="Socks", not_sold_in=["kiosk"])
    sizes = [VariantFactory(product=jacket, sku=f"JKT-{s}", size=s, color="red") for s in ("S", "M", "L", "XL")]
    await persist(db, outdoor, jacket, socks, *sizes, VariantFactory(product=socks, sku="SOCK-1"))
    lat, lon = LOUVRE
    await make_locations(
        db,
        LocationFactory(code="STORE-TEST", latitude=lat, longitude=lon),
        LocationFactory(code="STORE-NEAR", latitude=48.8738, longitude=2.2950),  # Étoile, ~3.4 km
        LocationFactory(code="STORE-FAR", latitude=45.7640, longitude=4.8357),  # Lyon, ~390 km
        LocationFactory(code="STORE-CLOSED", latitude=48.8600, longitude=2.3400, pickup=False),
        LocationFactory(code="WH-TEST", kind="warehouse", latitude=49.0, longitude=2.5),
    )
    for sku, where, units in (
        ("JKT-S", "STORE-TEST", 2),
        ("JKT-S", "WH-TEST", 4),
        ("JKT-M", "STORE-NEAR", 3),
        ("JKT-M", "STORE-FAR", 5),
        ("JKT-M", "STORE-CLOSED", 7),  # no pickup there: never offered
        ("JKT-L", "STORE-FAR", 1),  # too far for pickup; nothing ships it
        ("JKT-L", "WH-TEST", 6),
        ("SOCK-1", "STORE-TEST", 9),
    ):
        await receive(db, sku, where, units)
    await db.commit()
    return str(jacket.id), str(socks.id)


async def test_kiosk_shows_every_size_here_nearby_or_delivered_in_one_call(api: Api, db: AsyncSession) -> None:
    jacket, socks = await _shop(db)
    kiosk = api.as_("kiosk")

    r = await kiosk.get(f"/v1/products/{jacket}/aisle")
    assert r.status_code == 200, r.text
    aisle = r.json()
    assert (aisle["product_name"], aisle["store"], aisle["radius_km"]) == ("Trail jacket", "STORE-TEST", 25.0)
    sizes = {s["size"]: s for s in aisle["sizes"]}
    assert [s["sku"] for s in aisle["sizes"]] == ["JKT-L", "JKT-M", "JKT-S", "JKT-XL"]  # the catalog's order

    # S: on this shelf (2), and the warehouse can send 4.
    assert (sizes["S"]["here"], sizes["S"]["nearby"], sizes["S"]["delivery"], sizes["S"]["best"]) == (2, [], 4, "here")
    # M: not here; 3 at Étoile (~3.4 km) for pickup — not Lyon (outside 25 km), not the store
    # without pickup; no shipping location holds it.
    m = sizes["M"]
    assert (m["here"], m["delivery"], m["best"]) == (0, 0, "nearby")
    assert [(n["location"], n["available"]) for n in m["nearby"]] == [("STORE-NEAR", 3)]
    assert 3.0 < m["nearby"][0]["distance_km"] < 4.0
    # L: only delivery (the one in Lyon is too far to collect).
    assert (sizes["L"]["here"], sizes["L"]["nearby"], sizes["L"]["delivery"], sizes["L"]["best"]) == (
        0, [], 6, "delivery",
    )  # fmt: skip
    assert (sizes["XL"]["here"], sizes["XL"]["nearby"], sizes["XL"]["delivery"], sizes["XL"]["best"]) == (
        0, [], 0, "unavailable",
    )  # fmt: skip
    assert {s["color"] for s in aisle["sizes"]} == {"red"} and {s["reason"] for s in aisle["sizes"]} == {None}

    # A wider radius reaches Lyon, nearest first.
    wide = (await kiosk.get(f"/v1/products/{jacket}/aisle", params={"radius_km": 500})).json()
    m_wide = next(s for s in wide["sizes"] if s["size"] == "M")
    assert [(n["location"], n["available"]) for n in m_wide["nearby"]] == [("STORE-NEAR", 3), ("STORE-FAR", 5)]
    l_wide = next(s for s in wide["sizes"] if s["size"] == "L")
    assert (l_wide["best"], [n["location"] for n in l_wide["nearby"]]) == ("nearby", ["STORE-FAR"])

    # What the kiosk's channel does not sell is shown as such, whatever the shelf holds.
    [sock] = (await kiosk.get(f"/v1/products/{socks}/aisle")).json()["sizes"]
    assert (sock["here"], sock["delivery"], sock["best"], sock["reason"]) == (
        0,
        0,
        "unavailable",
        "not_sold_in_channel",
    )

    # A kiosk answers for its own store only; an unknown style is a 404.
    other = await kiosk.get(f"/v1/products/{jacket}/aisle", params={"store": "STORE-NEAR"})
    assert other.status_code == 403
    missing = await kiosk.get("/v1/products/00000000-0000-4000-8000-000000000000/aisle")
    assert missing.status_code == 404
