"""A retailer for returns tests, built through the real services: a shirt in two sizes
(apparel/tops), a mug (home, not returnable), a warehouse that ships, a store with pickup
that accepts returns (the POS key's store), a store that does not accept returns; orders
placed, shipped, delivered and collected through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.models import OutboxEvent
from app.inventory.models import StockLevel, StockMovement
from app.orders.payments.models import TestGatewayAuthorization
from app.orders.returns.models import Return
from app.pricing import service as pricing
from app.pricing.rules import Kind
from app.pricing.schemas import CodesCreate, PriceCreate, PromotionCreate, TargetIn
from tests.conftest import Api
from tests.factories import persist
from tests.factories.catalog import CategoryFactory, ProductFactory, VariantFactory
from tests.factories.inventory import LocationFactory, make_locations, receive

ADDRESS = {
    "line1": "1 Rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
    "latitude": 48.8566,
    "longitude": 2.3522,
}
SHIRT_PRICE = 2500
MUG_PRICE = 999


@dataclass
class Shop:
    small: str
    medium: str
    mug: str
    sock: str  # 333 each: for the 10 % code's rounding
    shirt_product: uuid.UUID


async def make_shop(db: AsyncSession, *, bxgy: bool = False) -> Shop:
    apparel = CategoryFactory(code="apparel")
    tops = CategoryFactory(code="tops", parent=apparel)
    home = CategoryFactory(code="home")
    shirt = ProductFactory(category=tops)
    socks = ProductFactory(category=apparel)
    mug = ProductFactory(category=home, returnable=False)
    small, medium = VariantFactory(product=shirt, sku="SHIRT-S"), VariantFactory(product=shirt, sku="SHIRT-M")
    await persist(
        db, apparel, home, tops, shirt, socks, mug, small, medium,
        VariantFactory(product=mug, sku="MUG"), VariantFactory(product=socks, sku="SOCK"),
    )  # fmt: skip
    await make_locations(
        db,
        LocationFactory(code="WH-TEST", kind="warehouse", latitude=45.76, longitude=4.83),
        LocationFactory(code="STORE-TEST", kind="store"),
        LocationFactory(code="STORE-NORET", kind="store", accepts_returns=False),
    )
    for sku, amount in (("SHIRT-S", SHIRT_PRICE), ("SHIRT-M", SHIRT_PRICE), ("MUG", MUG_PRICE), ("SOCK", 333)):
        await pricing.set_price(db, PriceCreate(sku=sku, currency="EUR", amount=amount))
        await receive(db, sku, "WH-TEST", 20)
        await receive(db, sku, "STORE-TEST", 10)
    if bxgy:
        await pricing.create_promotion(
            db,
            PromotionCreate(
                kind=Kind.BUY_X_GET_Y,
                name="3 for 2 shirts",
                starts_at=clock.now() - timedelta(hours=1),
                buy_quantity=2,
                get_quantity=1,
                target=TargetIn(products=[shirt.id]),
            ),
        )
    ten = await pricing.create_promotion(
        db,
        PromotionCreate(
            kind=Kind.ORDER_PERCENT_OFF,
            name="Ten off",
            starts_at=clock.now() - timedelta(hours=1),
            percent_bp=1000,
            requires_code=True,
        ),
    )
    await pricing.add_codes(db, ten.id, CodesCreate(code="SAVE10"))
    await db.commit()
    return Shop(small="SHIRT-S", medium="SHIRT-M", mug="MUG", sock="SOCK", shirt_product=shirt.id)


def delivery_body(lines: dict[str, int], total: int, **extra: Any) -> dict[str, Any]:
    return {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
        "fulfillment": {"method": "delivery", "address": ADDRESS},
        "tenders": [{"kind": "card", "amount": total, "card_token": "tok_visa"}],
        **extra,
    }


def pickup_body(lines: dict[str, int], total: int, **extra: Any) -> dict[str, Any]:
    return {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
        "fulfillment": {"method": "pickup", "location": "STORE-TEST"},
        "contact": {"phone": "+49 30 1234567"},
        "tenders": [{"kind": "card", "amount": total, "card_token": "tok_visa"}],
        **extra,
    }


async def place(api: Api, label: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await api.as_(label).post("/v1/orders", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _fo(api: Api, order_id: str) -> dict[str, Any]:
    r = await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order_id})
    assert r.status_code == 200, r.text
    [fo] = r.json()["items"]
    return dict(fo)


async def _pick_all(api: Api, label: str) -> None:
    client = api.as_(label)
    r = await client.post("/v1/pick-lists", json={})
    assert r.status_code == 201, r.text
    pick_list = r.json()
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list["lines"]]
    confirmed = await client.post(f"/v1/pick-lists/{pick_list['id']}/confirm", json={"lines": found})
    assert confirmed.status_code == 200, confirmed.text


async def deliver(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    """Pick, pack and ship at the warehouse; the carrier reports it delivered."""
    fo = await _fo(api, order["id"])
    await _pick_all(api, "logistics")
    logistics = api.as_("logistics")
    tracking = f"CP{uuid.uuid4().hex[:10].upper()}"
    packed = await logistics.post(
        f"/v1/fulfillment-orders/{fo['id']}/pack",
        json={"parcels": [{"carrier": "colissimo", "tracking_number": tracking}]},
    )
    assert packed.status_code == 200, packed.text
    shipped = await logistics.post(f"/v1/fulfillment-orders/{fo['id']}/ship")
    assert shipped.status_code == 200, shipped.text
    event = {"carrier": "colissimo", "event_id": f"ev-{tracking}", "tracking_number": tracking, "status": "delivered"}
    delivered = await api.as_("integration").post("/v1/carrier-events", json=event)
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered", delivered.text
    return fo


async def collect(api: Api, db: AsyncSession, order: dict[str, Any]) -> dict[str, Any]:
    """Picked at the store, ready, collected with the code the customer received."""
    fo = await _fo(api, order["id"])
    await _pick_all(api, "pos")
    pos = api.as_("pos")
    ready = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/ready")
    assert ready.status_code == 200, ready.text
    note = (
        await db.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "fulfillment.pickup_ready")
            .where(OutboxEvent.aggregate_id == fo["id"])
        )
    ).one()
    collected = await pos.post(f"/v1/fulfillment-orders/{fo['id']}/collect", json={"code": note.payload["pickup_code"]})
    assert collected.status_code == 200, collected.text
    return fo


async def stock(db: AsyncSession, sku: str, code: str) -> int:
    return int(
        await db.scalar(select(StockLevel.on_hand).where(StockLevel.sku == sku, StockLevel.location_code == code)) or 0
    )


async def ledger(db: AsyncSession, sku: str, code: str) -> list[tuple[str, int]]:
    rows = await db.execute(
        select(StockMovement.reason, StockMovement.delta)
        .where(StockMovement.sku == sku, StockMovement.location_code == code)
        .order_by(StockMovement.id)
    )
    return [(r.reason, int(r.delta)) for r in rows]


async def gateway_books(db: AsyncSession, authorization_id: str) -> tuple[int, int]:
    auth = await db.get(TestGatewayAuthorization, authorization_id, populate_existing=True)
    assert auth is not None
    return auth.captured, auth.refunded


async def returns_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Return)) or 0)


async def event_types(db: AsyncSession, return_id: str) -> list[str]:
    rows = await db.scalars(
        select(OutboxEvent.type).where(OutboxEvent.aggregate_id == return_id).order_by(OutboxEvent.id)
    )
    return list(rows)
