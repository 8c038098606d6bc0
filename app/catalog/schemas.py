"""What the catalog API takes and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.catalog.rules import BARCODE_PATTERN, MAX_SKU_LENGTH, SKU_PATTERN
from app.core.auth import Channel
from app.core.schema import Body, Code, Name, Out, Text, stated

Sku = Annotated[str, Meta(min_length=1, max_length=MAX_SKU_LENGTH, pattern=SKU_PATTERN)]
# Shape and check digit are validated by the service, so every bad barcode is `invalid_barcode`;
# the schema states the shape (spaces the service also strips are left out of it).
Barcode = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=32,
        description="EAN-8, UPC-A, EAN-13 or GTIN-14 (with a valid check digit)",
        extra_json_schema=stated(pattern=BARCODE_PATTERN),
    ),
]
Brand = Annotated[str, Meta(min_length=1, max_length=100)]
Short = Annotated[str, Meta(min_length=1, max_length=40)]
WeightGrams = Annotated[int, Meta(ge=0, le=1_000_000)]
Attributes = Annotated[
    dict[Annotated[str, Meta(min_length=1, max_length=40)], Annotated[str, Meta(max_length=200)]],
    Meta(max_length=50),
]
NotSoldIn = Annotated[list[Channel], Meta(max_length=len(Channel))]


class CategoryCreate(Body):
    code: Code
    name: Name
    parent: Code | None = None


class CategoryOut(Out):
    id: uuid.UUID
    code: str
    name: str
    parent: str | None
    path: str
    created_at: datetime


class VariantCreate(Body):
    sku: Sku
    size: Short | None = None
    color: Short | None = None
    barcode: Barcode | None = None
    weight_grams: WeightGrams | None = None
    attributes: Attributes = msgspec.field(default_factory=dict)


class VariantChange(Body):
    """A variant in a PATCH: a new SKU is created, a SKU of this product is updated field by field."""

    sku: Sku
    size: Short | UnsetType | None = UNSET
    color: Short | UnsetType | None = UNSET
    barcode: Barcode | UnsetType | None = UNSET
    weight_grams: WeightGrams | UnsetType | None = UNSET
    attributes: Attributes | UnsetType = UNSET


class ProductCreate(Body):
    code: Code
    name: Name
    description: Text = ""
    brand: Brand | None = None
    category: Code | None = None
    not_sold_in: NotSoldIn = msgspec.field(default_factory=list)
    returnable: bool = True
    attributes: Attributes = msgspec.field(default_factory=dict)
    variants: Annotated[list[VariantCreate], Meta(max_length=500)] = msgspec.field(default_factory=list)


class ProductUpdate(Body):
    name: Name | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    brand: Brand | UnsetType | None = UNSET
    category: Code | UnsetType | None = UNSET
    not_sold_in: NotSoldIn | UnsetType = UNSET
    returnable: bool | UnsetType = UNSET
    attributes: Attributes | UnsetType = UNSET
    variants: Annotated[list[VariantChange], Meta(max_length=500)] | UnsetType = UNSET


class VariantOut(Out):
    sku: str
    product_id: uuid.UUID
    size: str | None
    color: str | None
    barcode: str | None
    weight_grams: int | None
    attributes: dict[str, str]
    created_at: datetime
    updated_at: datetime


class ProductOut(Out):
    id: uuid.UUID
    code: str
    name: str
    description: str
    brand: str | None
    category: str | None
    category_path: str | None
    not_sold_in: list[str]
    returnable: bool
    attributes: dict[str, str]
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime


class ProductSummary(Out):
    id: uuid.UUID
    code: str
    name: str
    brand: str | None
    category: str | None
    category_path: str | None
    not_sold_in: list[str]
    returnable: bool


class VariantDetail(Out):
    """A variant with its product: what a POS needs after scanning a barcode."""

    sku: str
    size: str | None
    color: str | None
    barcode: str | None
    weight_grams: int | None
    attributes: dict[str, str]
    product: ProductSummary
