"""A small shop for order tests: 3 priced SKUs, a pickup store (STORE-TEST, the kiosk/POS
keys' store), a store without pickup, a warehouse (WH-TEST), stock everywhere, and a 10 %
order code `SAVE10`. Built through the real services, so `oms check` stays clean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.pricing import service as pricing
from app.pricing.rules import Kind
from app.pricing.schemas import CodesCreate, PriceCreate, PromotionCreate
from tests.factories.inventory import LocationFactory, make_locations, make_variants, receive

PRICES = (1000, 2500, 499)


@dataclass
class Shop:
    skus: list[str]
    store: str
    store_without_pickup: str
    warehouse: str
    other_store: str


async def make_shop(
    session: AsyncSession,
    *,
    store: str = "STORE-TEST",
    warehouse: str = "WH-TEST",
    stock: int = 50,
    warehouse_stock: int | None = None,
) -> Shop:
    skus = await make_variants(session, 3)
    await make_locations(
        session,
        LocationFactory(code=store, kind="store"),
        LocationFactory(code=f"{store}-NOPICK", kind="store", pickup=False),
        LocationFactory(code=f"{store}-OTHER", kind="store"),
        LocationFactory(code=warehouse, kind="warehouse"),
    )
    for sku, amount in zip(skus, PRICES, strict=True):
        await pricing.set_price(session, PriceCreate(sku=sku, currency="EUR", amount=amount))
        for location in (store, f"{store}-OTHER", warehouse):
            qty = warehouse_stock if (location == warehouse and warehouse_stock is not None) else stock
            if qty:
                await receive(session, sku, location, qty)
    promo = await pricing.create_promotion(
        session,
        PromotionCreate(
            kind=Kind.ORDER_PERCENT_OFF,
            name="Ten off",
            starts_at=clock.now() - timedelta(minutes=1),
            percent_bp=1000,
            requires_code=True,
        ),
    )
    await pricing.add_codes(session, promo.id, CodesCreate(code="SAVE10"))
    await session.flush()
    return Shop(
        skus=skus,
        store=store,
        store_without_pickup=f"{store}-NOPICK",
        warehouse=warehouse,
        other_store=f"{store}-OTHER",
    )


# A guest's pickup order names who to tell when it is ready.
GUEST_CONTACT = {"phone": "+49 30 1234567"}
ADDRESS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}


def delivery_order(skus: list[str], total: int, *, token: str = "tok_visa", **extra: object) -> dict[str, object]:
    return {
        "lines": [{"sku": sku, "quantity": 1} for sku in skus],
        "fulfillment": {"method": "delivery", "address": ADDRESS},
        "tenders": [{"kind": "card", "amount": total, "card_token": token}],
        **extra,
    }
