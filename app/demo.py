"""The demo retailer: a small fashion catalog, 2 warehouses, 4 stores, stock, prices, one key per role.

Idempotent: catalog and locations are upserted by their natural keys, stock and prices are only
set where missing, and the demo keys printed by the first run are reused (kept in
`<data dir>/demo-keys.json`, demo only: real keys are never stored in plaintext).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.catalog.rules import CatalogRow, gtin_check_digit
from app.core import clock
from app.core.auth import Channel, Role, create_key, find_principal
from app.core.db import create_engine, create_sessionmaker, transaction
from app.core.settings import Settings
from app.inventory import service as inventory
from app.inventory.errors import LocationNotFound
from app.inventory.schemas import Kind, LocationCreate
from app.pricing import service as pricing
from app.pricing.rules import Kind as PromotionKind
from app.pricing.schemas import CodesCreate, PriceCreate, PromotionCreate, TargetIn


class DemoLocation(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: Kind
    city: str
    latitude: float
    longitude: float
    ships: bool
    pickup: bool
    daily_capacity: int


LOCATIONS = [
    DemoLocation("WH-NORTH", "Warehouse North", "warehouse", "Hamburg", 53.5511, 9.9937, True, False, 5000),
    DemoLocation("WH-SOUTH", "Warehouse South", "warehouse", "Munich", 48.1351, 11.5820, True, False, 5000),
    DemoLocation("STORE-BERLIN", "Berlin Mitte", "store", "Berlin", 52.5200, 13.4050, True, True, 40),
    DemoLocation("STORE-HAMBURG", "Hamburg Jungfernstieg", "store", "Hamburg", 53.5530, 9.9920, False, True, 30),
    DemoLocation("STORE-MUNICH", "Munich Marienplatz", "store", "Munich", 48.1374, 11.5755, True, True, 40),
    DemoLocation("STORE-COLOGNE", "Cologne Hohe Strasse", "store", "Cologne", 50.9375, 6.9603, False, True, 25),
]
DEMO_STORE = "STORE-BERLIN"
DEMO_WAREHOUSE = "WH-NORTH"

# (product code, name, category path, brand, sizes, colors, price in cents, returnable)
_PRODUCTS: list[tuple[str, str, str, str, list[str], list[str], int, bool]] = [
    (
        "TEE-CLASSIC",
        "Classic T-Shirt",
        "apparel/tops",
        "Northwind",
        ["S", "M", "L", "XL"],
        ["black", "white"],
        1999,
        True,
    ),
    ("TEE-POCKET", "Pocket T-Shirt", "apparel/tops", "Northwind", ["S", "M", "L"], ["navy", "olive"], 2499, True),
    ("POLO-PIQUE", "Piqué Polo", "apparel/tops", "Harbor", ["S", "M", "L", "XL"], ["white", "navy"], 3999, True),
    ("SHIRT-OXFORD", "Oxford Shirt", "apparel/tops", "Harbor", ["M", "L"], ["blue", "white"], 4999, True),
    ("HOODIE-ZIP", "Zip Hoodie", "apparel/tops", "Northwind", ["S", "M", "L", "XL"], ["grey", "black"], 5999, True),
    ("SWEAT-CREW", "Crew Sweatshirt", "apparel/tops", "Northwind", ["M", "L"], ["grey", "green"], 4499, True),
    ("JEANS-SLIM", "Slim Jeans", "apparel/bottoms", "Denimworks", ["30", "32", "34", "36"], ["indigo"], 7999, True),
    ("JEANS-STRAIGHT", "Straight Jeans", "apparel/bottoms", "Denimworks", ["30", "32", "34"], ["black"], 7999, True),
    ("CHINO", "Chino Trousers", "apparel/bottoms", "Harbor", ["30", "32", "34"], ["sand", "navy"], 5999, True),
    ("SHORTS-CARGO", "Cargo Shorts", "apparel/bottoms", "Harbor", ["M", "L"], ["khaki"], 3499, True),
    ("JOGGER", "Jogger Pants", "apparel/bottoms", "Northwind", ["S", "M", "L"], ["black", "grey"], 3999, True),
    ("JACKET-RAIN", "Rain Jacket", "apparel/outerwear", "Harbor", ["M", "L", "XL"], ["yellow", "navy"], 9999, True),
    ("JACKET-DOWN", "Down Jacket", "apparel/outerwear", "Summit", ["M", "L"], ["black"], 19999, True),
    ("PARKA", "Winter Parka", "apparel/outerwear", "Summit", ["M", "L", "XL"], ["olive"], 24999, True),
    ("VEST-FLEECE", "Fleece Vest", "apparel/outerwear", "Summit", ["M", "L"], ["grey"], 4999, True),
    (
        "SNEAKER-RUN",
        "Running Sneaker",
        "shoes/sneakers",
        "Stride",
        ["40", "41", "42", "43", "44"],
        ["white"],
        8999,
        True,
    ),
    ("SNEAKER-COURT", "Court Sneaker", "shoes/sneakers", "Stride", ["40", "42", "44"], ["white", "black"], 7999, True),
    ("BOOT-CHELSEA", "Chelsea Boot", "shoes/boots", "Stride", ["41", "42", "43"], ["brown"], 12999, True),
    ("BOOT-HIKE", "Hiking Boot", "shoes/boots", "Summit", ["42", "43", "44"], ["brown"], 14999, True),
    ("SANDAL", "Slide Sandal", "shoes/sandals", "Stride", ["40", "42", "44"], ["black"], 2999, True),
    ("CAP-BASEBALL", "Baseball Cap", "accessories/hats", "Northwind", ["one size"], ["black", "navy"], 1999, True),
    ("BEANIE", "Rib Beanie", "accessories/hats", "Summit", ["one size"], ["grey", "red"], 1499, True),
    ("SCARF-WOOL", "Wool Scarf", "accessories/scarves", "Summit", ["one size"], ["grey"], 2999, True),
    (
        "BELT-LEATHER",
        "Leather Belt",
        "accessories/belts",
        "Harbor",
        ["85", "95", "105"],
        ["brown", "black"],
        3499,
        True,
    ),
    ("BAG-TOTE", "Canvas Tote", "accessories/bags", "Northwind", ["one size"], ["natural"], 1999, True),
    ("BACKPACK", "Daypack", "accessories/bags", "Summit", ["one size"], ["black", "green"], 6999, True),
    (
        "SOCKS-3PK",
        "Socks 3-Pack",
        "accessories/socks",
        "Northwind",
        ["39-42", "43-46"],
        ["black", "white"],
        1299,
        False,
    ),
    ("BRIEFS-2PK", "Briefs 2-Pack", "apparel/underwear", "Northwind", ["S", "M", "L"], ["black"], 1999, False),
    ("SUNGLASSES", "Sunglasses", "accessories/eyewear", "Harbor", ["one size"], ["tortoise"], 5999, True),
    ("WATCH-FIELD", "Field Watch", "accessories/watches", "Harbor", ["one size"], ["steel"], 14999, True),
]


def _ean13(serial: int) -> str:
    body = f"400{serial:09d}"
    return body + str(gtin_check_digit(body))


def catalog_rows() -> list[CatalogRow]:
    rows, serial = [], 1
    for code, name, path, brand, sizes, colors, _, returnable in _PRODUCTS:
        for color in colors:
            for size in sizes:
                size_code = size.replace(" ", "").upper()
                rows.append(
                    CatalogRow(
                        product_code=code,
                        product_name=name,
                        sku=f"{code}-{color.upper()}-{size_code}",
                        brand=brand,
                        category_path=path,
                        size=size,
                        color=color,
                        barcode=_ean13(serial),
                        weight_grams=300,
                        returnable=returnable,
                    )
                )
                serial += 1
    return rows


def price_of(sku: str) -> int:
    """The demo price (minor units, EUR) of a demo SKU: its product's price."""
    for code, *_rest, price, _ret in _PRODUCTS:
        if sku.startswith(code + "-"):
            return price
    raise KeyError(sku)


_KEYS: list[tuple[str, Role, Channel | None, str | None]] = [
    ("admin", Role.ADMIN, None, None),
    ("merchandiser", Role.MERCHANDISER, None, None),
    ("storefront (web)", Role.STOREFRONT, Channel.WEB, None),
    ("storefront (app)", Role.STOREFRONT, Channel.APP, None),
    ("kiosk", Role.KIOSK, Channel.KIOSK, DEMO_STORE),
    ("contact_center", Role.CONTACT_CENTER, Channel.CONTACT_CENTER, None),
    ("pos", Role.POS, Channel.POS, DEMO_STORE),
    ("logistics", Role.LOGISTICS, None, DEMO_WAREHOUSE),
    ("logistics (store)", Role.LOGISTICS, None, DEMO_STORE),
    ("integration", Role.INTEGRATION, None, None),
]


def _read_keys(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2))
    path.chmod(0o600)


async def demo_keys(session: AsyncSession, path: Path) -> dict[str, str]:
    """Reuse the keys of an earlier run when they all still authenticate; else make new ones."""
    known = _read_keys(path)
    if (
        known
        and set(known) == {label for label, *_ in _KEYS}
        and all([await find_principal(session, key) is not None for key in known.values()])
    ):
        return known
    keys = {}
    for label, role, channel, location in _KEYS:
        _, plaintext = await create_key(
            session, role=role, name=f"demo {label}", channel=channel, location_code=location
        )
        keys[label] = plaintext
    _write_keys(path, keys)
    return keys


def demo_stock(sku_index: int, location: DemoLocation) -> int:
    """Deterministic, uneven stock: warehouses deep, stores thin, some store sizes missing."""
    if location.kind == "warehouse":
        return 40 + (sku_index * 7) % 60
    return (sku_index * 3 + len(location.code)) % 6


async def seed_locations(session: AsyncSession) -> None:
    for loc in LOCATIONS:
        try:
            await inventory.get_location(session, loc.code)
            continue
        except LocationNotFound:
            pass
        await inventory.create_location(
            session,
            LocationCreate(
                code=loc.code,
                name=loc.name,
                kind=loc.kind,
                latitude=loc.latitude,
                longitude=loc.longitude,
                time_zone="Europe/Berlin",
                address=loc.city,
                ships=loc.ships,
                pickup=loc.pickup,
                accepts_returns=loc.kind == "store",
                daily_capacity=loc.daily_capacity,
                default_safety_stock=1 if loc.kind == "store" else 0,
                **_promise_settings(loc.kind),
            ),
        )


def _promise_settings(kind: str) -> dict[str, Any]:
    """Warehouses: orders by 15:00 leave the same day (Monday to Friday), next day in Germany,
    longer abroad. Stores: open Monday to Saturday, an order by 18:00 is on the pickup shelf
    within the hour; a ship-from-store parcel takes 2 days."""
    if kind == "warehouse":
        return {
            "order_cutoff": "15:00",
            "handling_hours": 2,
            "transit_days": 1,
            "transit_days_by_country": {"AT": 2, "NL": 2, "FR": 3, "DK": 3},
            "shipping_days": [1, 2, 3, 4, 5],
        }
    return {"order_cutoff": "18:00", "handling_hours": 1, "transit_days": 2, "shipping_days": [1, 2, 3, 4, 5, 6]}


async def seed_stock(session: AsyncSession, skus: list[str]) -> None:
    """Count stock in where a SKU has none recorded yet; never resets what trading changed."""
    for loc in LOCATIONS:
        page = await inventory.stock_levels(session, location_code=loc.code, limit=1000)
        known = {level.sku for level in page.items}
        lines = [(sku, demo_stock(i, loc)) for i, sku in enumerate(skus) if sku not in known]
        if lines:
            await inventory.count(session, location_code=loc.code, lines=lines, reference="demo-seed")


async def seed_prices(session: AsyncSession, skus: list[str], currency: str) -> None:
    for sku in skus:
        history = await pricing.price_history(session, sku, zone="default", currency=currency, cursor=None, limit=1)
        if not history.items:
            await pricing.set_price(session, PriceCreate(sku=sku, currency=currency, amount=price_of(sku)))


async def seed_promotions(session: AsyncSession, currency: str) -> None:
    """Two promotions every channel sees: 3 for 2 on socks, and 10 off orders from 100 with a code."""
    page = await pricing.list_promotions(session, cursor=None, limit=200)
    existing = {p.name for p in page.items}
    wanted = [
        PromotionCreate(
            kind=PromotionKind.BUY_X_GET_Y,
            name="Socks: 3 for 2",
            starts_at=clock.now(),
            buy_quantity=2,
            get_quantity=1,
            reward_percent_bp=10_000,
            target=TargetIn(categories=["socks"]),
        ),
        PromotionCreate(
            kind=PromotionKind.ORDER_AMOUNT_OFF,
            name="WELCOME10: 10 off from 100",
            starts_at=clock.now(),
            amount=1000,
            currency=currency,
            min_subtotal=10_000,
            requires_code=True,
        ),
    ]
    for body in wanted:
        if body.name in existing:
            continue
        promotion = await pricing.create_promotion(session, body)
        if body.requires_code:
            await pricing.add_codes(session, promotion.id, CodesCreate(code="WELCOME10"))


async def seed(session: AsyncSession, settings: Settings) -> dict[str, str]:
    rows = catalog_rows()
    report = await catalog.upsert_catalog(session, rows)
    if report.errors:
        raise RuntimeError(f"demo catalog did not import cleanly: {report.errors[:3]}")
    await seed_locations(session)
    await seed_stock(session, [row.sku for row in rows])
    await seed_prices(session, [row.sku for row in rows], settings.currency)
    await seed_promotions(session, settings.currency)
    return await demo_keys(session, Path(settings.data_dir) / "demo-keys.json")


async def seed_demo(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            keys = await seed(session, settings)
    finally:
        await engine.dispose()
    base = f"http://{settings.host}:{settings.port}"
    print(f"\nDemo retailer ready. API docs: {base}/schema   Keys (Authorization: Bearer <key>):")
    for label, key in keys.items():
        print(f"  {label:<20} {key}")
    barcode = _ean13(1)
    print(f"\nTry: curl -H 'Authorization: Bearer {keys['storefront (web)']}' '{base}/v1/variants?barcode={barcode}'\n")
