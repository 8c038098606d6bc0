"""Inventory factories: locations, and helpers that stock SKUs through the real service
(so every unit on hand has its ledger row and `oms check` stays clean)."""

from __future__ import annotations

import factory
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Product, Variant
from app.core import clock
from app.inventory import service
from app.inventory.models import Location
from tests.factories import persist
from tests.factories.catalog import ProductFactory, VariantFactory


class LocationFactory(factory.Factory):
    """A store by default (`kind="warehouse"` for a warehouse: ships, no pickup)."""

    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Location {o.code}")
    kind = "store"
    address = "1 Main Street"
    latitude = 48.8566
    longitude = 2.3522
    time_zone = "Europe/Paris"
    ships = factory.LazyAttribute(lambda o: o.kind == "warehouse")
    pickup = factory.LazyAttribute(lambda o: o.kind == "store")
    accepts_returns = factory.LazyAttribute(lambda o: o.kind == "store")
    daily_capacity = factory.LazyAttribute(lambda o: 5000 if o.kind == "warehouse" else 50)
    default_safety_stock = 0
    zone = None
    active = True
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


async def make_variants(session: AsyncSession, count: int, *, not_sold_in: list[str] | None = None) -> list[str]:
    """`count` SKUs of one product; returns the SKUs."""
    product: Product = ProductFactory(not_sold_in=not_sold_in or [])
    variants: list[Variant] = [VariantFactory(product=product) for _ in range(count)]
    await persist(session, product, *variants)
    return [v.sku for v in variants]


async def make_locations(session: AsyncSession, *locations: Location) -> list[str]:
    await persist(session, *locations)
    return [loc.code for loc in locations]


async def receive(session: AsyncSession, sku: str, location: str, quantity: int) -> None:
    await service.adjust(session, sku=sku, location_code=location, delta=quantity, reason="receipt", reference="test")
