"""A retailer for fulfillment tests, built through the real services (so `oms check` stays
clean): priced SKUs, warehouses and stores at real coordinates around Paris, stock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Role, create_key
from app.core.models import OutboxEvent
from app.inventory import service as inventory
from app.inventory.models import StockLevel, StockMovement
from app.pricing import service as pricing
from app.pricing.schemas import PriceCreate
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive
from tests.factories.orders import GUEST_CONTACT

PRICE = 1000
# The delivery address: central Paris.
PARIS = {"latitude": 48.8566, "longitude": 2.3522}
ADDRESS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR", **PARIS}


@dataclass
class Retailer:
    skus: list[str]


async def retailer(session: AsyncSession, skus: int = 3) -> Retailer:
    codes = await make_variants(session, skus)
    for sku in codes:
        await pricing.set_price(session, PriceCreate(sku=sku, currency="EUR", amount=PRICE))
    return Retailer(skus=codes)


async def location(
    session: AsyncSession, code: str, kind: str, lat: float, lon: float, stock: dict[str, int], **kw: object
) -> str:
    await make_locations(session, LocationFactory(code=code, kind=kind, latitude=lat, longitude=lon, **kw))
    for sku, qty in stock.items():
        await receive(session, sku, code, qty)
    return code


async def key_at(session: AsyncSession, role: Role, code: str) -> str:
    _, plaintext = await create_key(session, role=role, name=f"{role} {code}", location_code=code)
    await session.flush()
    return plaintext


def order_body(lines: dict[str, int], *, pickup: str | None = None, **extra: object) -> dict[str, object]:
    total = PRICE * sum(lines.values())
    body: dict[str, object] = {
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines.items()],
        "tenders": [{"kind": "card", "amount": total, "card_token": "tok_visa"}],
        **extra,
    }
    if pickup:
        body.update(fulfillment={"method": "pickup", "location": pickup})
        if "customer_id" not in extra:
            body.setdefault("contact", GUEST_CONTACT)  # a guest's pickup notice needs one
    else:
        body.update(fulfillment={"method": "delivery", "address": ADDRESS})
    return body


async def stock(session: AsyncSession, sku: str, code: str) -> tuple[int, int]:
    row = (
        await session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.sku == sku, StockLevel.location_code == code
            )
        )
    ).one()
    return int(row.on_hand), int(row.reserved)


async def ledger(session: AsyncSession, sku: str, code: str) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(StockMovement.reason, StockMovement.delta)
        .where(StockMovement.sku == sku, StockMovement.location_code == code)
        .order_by(StockMovement.id)
    )
    return [(r.reason, int(r.delta)) for r in rows]


async def assert_clean(session: AsyncSession) -> None:
    """`oms check`: on_hand = ledger, reserved = open reservations, nothing negative."""
    findings = await inventory.check_integrity(session)
    assert findings == [], msgspec.to_builtins(findings)


async def events(session: AsyncSession, type_: str) -> list[dict[str, object]]:
    rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id))
    return [e.payload for e in rows]


async def fos_by_location(api: Any, order_id: str) -> dict[str, dict[str, Any]]:
    """The order's fulfillment orders by location code (as the admin key lists them)."""
    r = await api.as_("admin").get("/v1/fulfillment-orders", params={"order_id": order_id})
    assert r.status_code == 200, r.text
    return {fo["location_code"]: fo for fo in r.json()["items"]}


async def pick_and_pack(api: Any, fo_id: str, tracking: str) -> None:
    """The logistics key's walk at its warehouse: next pick list, all found, one parcel packed."""
    logistics = api.as_("logistics")
    pick_list = await logistics.post("/v1/pick-lists", json={})
    assert pick_list.status_code == 201, pick_list.text
    found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in pick_list.json()["lines"]]
    confirmed = await logistics.post(f"/v1/pick-lists/{pick_list.json()['id']}/confirm", json={"lines": found})
    assert confirmed.status_code == 200, confirmed.text
    packed = await logistics.post(
        f"/v1/fulfillment-orders/{fo_id}/pack",
        json={"parcels": [{"carrier": "colissimo", "tracking_number": tracking}]},
    )
    assert packed.status_code == 200, packed.text
