"""Catalog factories: categories (tree), products, variants with valid EAN-13 barcodes."""

from __future__ import annotations

import uuid

import factory

from app.catalog.models import Category, Product, Variant
from app.catalog.rules import gtin_check_digit
from app.core import clock


def ean13(n: int, prefix: str = "20") -> str:
    """A valid EAN-13 (prefix 20-29 is for in-store numbering, so never a real product)."""
    body = f"{prefix}{n:0{12 - len(prefix)}d}"
    return body + str(gtin_check_digit(body))


class CategoryFactory(factory.Factory):
    class Meta:
        model = Category

    class Params:
        parent = None

    id = factory.LazyFunction(uuid.uuid4)
    code = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    parent_id = factory.LazyAttribute(lambda o: o.parent.id if o.parent else None)
    path = factory.LazyAttribute(lambda o: f"{o.parent.path}/{o.code}" if o.parent else o.code)
    created_at = factory.LazyFunction(clock.now)


class ProductFactory(factory.Factory):
    class Meta:
        model = Product

    class Params:
        category = None

    id = factory.LazyFunction(uuid.uuid4)
    code = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = ""
    brand = "Acme"
    category_id = factory.LazyAttribute(lambda o: o.category.id if o.category else None)
    not_sold_in = factory.LazyFunction(list)
    returnable = True
    attributes = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class VariantFactory(factory.Factory):
    """`VariantFactory(product=p)`; without a product one is built (persist it first)."""

    class Meta:
        model = Variant

    class Params:
        product = factory.SubFactory(ProductFactory)

    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    product_id = factory.SelfAttribute("product.id")
    size = "M"
    color = "blue"
    barcode = factory.Sequence(ean13)
    weight_grams = 250
    attributes = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)
