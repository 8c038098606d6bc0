from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service
from app.catalog.errors import BarcodeTaken, ProductCodeTaken, SkuTaken, UnknownBarcode, UnknownCategory, UnknownSku
from app.catalog.models import Category, Product, Variant
from app.catalog.rules import CatalogRow
from app.catalog.schemas import CategoryCreate, ProductCreate, ProductUpdate, VariantChange, VariantCreate
from app.core.models import OutboxEvent
from tests.factories import persist
from tests.factories.catalog import CategoryFactory, ProductFactory, VariantFactory, ean13


async def count(db: AsyncSession, model: type) -> int:
    await db.flush()
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def events(db: AsyncSession) -> list[tuple[str, str]]:
    await db.flush()  # the sessions do not autoflush
    rows = await db.execute(select(OutboxEvent.type, OutboxEvent.payload).order_by(OutboxEvent.id))
    return [(t, p["code"]) for t, p in rows.all()]


async def test_factories_persist_a_tree_with_products(db: AsyncSession) -> None:
    apparel = CategoryFactory(code="apparel")
    tops = CategoryFactory(code="tops", parent=apparel)
    product = ProductFactory(category=tops)
    variants = [VariantFactory(product=product), VariantFactory(product=product)]
    await persist(db, apparel, tops, product, *variants)
    facts = await service.variant_facts(db, [variants[0].sku, "NOPE"])
    assert list(facts) == [variants[0].sku]
    assert facts[variants[0].sku].category_path == ("apparel", "tops")
    assert len({v.barcode for v in variants}) == 2


async def test_create_product_with_variants_records_an_event(db: AsyncSession) -> None:
    await service.create_category(db, CategoryCreate(code="apparel", name="Apparel"))
    tops = await service.create_category(db, CategoryCreate(code="tops", name="Tops", parent="apparel"))
    assert (tops.path, tops.parent) == ("apparel/tops", "apparel")
    out = await service.create_product(
        db,
        ProductCreate(
            code="TS-1",
            name="Tee",
            category="tops",
            not_sold_in=["web"],  # type: ignore[list-item]
            variants=[VariantCreate(sku="TS-1-M", size="M", barcode="036000291452", weight_grams=180)],
        ),
    )
    assert out.category_path == "apparel/tops"
    assert [(v.sku, v.barcode) for v in out.variants] == [("TS-1-M", "036000291452")]
    assert await events(db) == [("catalog.product_created", "TS-1")]
    assert (await service.get_product(db, out.id)).variants[0].weight_grams == 180
    # A POS scanner may send the UPC-A in its EAN-13 form.
    found = await service.find_variant_by_barcode(db, "0036000291452")
    assert (found.sku, found.product.code, found.product.not_sold_in) == ("TS-1-M", "TS-1", ["web"])


async def test_duplicates_are_conflicts_with_stable_codes(db: AsyncSession) -> None:
    await service.create_product(
        db, ProductCreate(code="A", name="A", variants=[VariantCreate(sku="A-1", barcode=ean13(1))])
    )
    with pytest.raises(ProductCodeTaken):
        await service.create_product(db, ProductCreate(code="A", name="again"))
    with pytest.raises(SkuTaken):
        await service.create_product(db, ProductCreate(code="B", name="B", variants=[VariantCreate(sku="A-1")]))
    with pytest.raises(BarcodeTaken) as caught:
        # The same GTIN written with a leading zero is the same barcode.
        await service.create_product(
            db, ProductCreate(code="C", name="C", variants=[VariantCreate(sku="C-1", barcode="0" + ean13(1))])
        )
    assert caught.value.extra == {"barcode": "0" + ean13(1), "sku": "A-1"}
    with pytest.raises(UnknownCategory):
        await service.create_product(db, ProductCreate(code="D", name="D", category="nope"))
    # The session is still usable and only the first product exists.
    assert await count(db, Product) == 1
    assert await count(db, Variant) == 1


async def test_update_changes_fields_and_adds_variants(db: AsyncSession) -> None:
    created = await service.create_product(
        db, ProductCreate(code="P", name="Old", brand="X", variants=[VariantCreate(sku="P-1", size="S")])
    )
    other = await service.create_product(db, ProductCreate(code="Q", name="Q", variants=[VariantCreate(sku="Q-1")]))
    updated = await service.update_product(
        db,
        created.id,
        ProductUpdate(
            name="New",
            brand=None,
            variants=[VariantChange(sku="P-1", color="red"), VariantChange(sku="P-2", barcode=ean13(7))],
        ),
    )
    assert (updated.name, updated.brand) == ("New", None)
    assert [(v.sku, v.size, v.color, v.barcode) for v in updated.variants] == [
        ("P-1", "S", "red", None),
        ("P-2", None, None, ean13(7)),
    ]
    assert updated.updated_at >= created.updated_at
    with pytest.raises(SkuTaken):
        await service.update_product(db, other.id, ProductUpdate(variants=[VariantChange(sku="P-1")]))
    # An empty change writes nothing and records no event.
    await service.update_product(db, created.id, ProductUpdate())
    assert await events(db) == [
        ("catalog.product_created", "P"),
        ("catalog.product_created", "Q"),
        ("catalog.product_updated", "P"),
    ]


async def test_variant_lookups_404_with_stable_codes(db: AsyncSession) -> None:
    with pytest.raises(UnknownSku):
        await service.get_variant(db, "NOPE")
    with pytest.raises(UnknownBarcode):
        await service.find_variant_by_barcode(db, ean13(99))


async def test_list_filters_by_subtree_search_and_channel(db: AsyncSession) -> None:
    apparel = CategoryFactory(code="apparel")
    tops = CategoryFactory(code="tops", parent=apparel)
    # "apparel_x" would match a LIKE 'apparel_%' prefix filter; it must not be in the subtree.
    lookalike = CategoryFactory(code="apparelx")
    shirt = ProductFactory(name="Blue Oxford Shirt", category=tops)
    coat = ProductFactory(name="Rain Coat", category=apparel, not_sold_in=["web"])
    mug = ProductFactory(name="Blue Mug", category=lookalike)
    await persist(db, apparel, tops, lookalike, shirt, coat, mug)

    async def codes(**filters: str) -> set[str]:
        page = await service.list_products(db, **filters)  # type: ignore[arg-type]
        return {p.code for p in page.items}

    assert await codes(category="apparel") == {shirt.code, coat.code}
    assert await codes(category="tops") == {shirt.code}
    assert await codes(category="unknown") == set()
    assert await codes(q="blue") == {shirt.code, mug.code}
    assert await codes(q="oxf shi") == {shirt.code}
    assert await codes(category="apparel", channel="web") == {shirt.code}


async def test_upsert_catalog_is_idempotent_by_sku(db: AsyncSession) -> None:
    rows = [
        CatalogRow(
            product_code="TS", product_name="Tee", sku="TS-S", size="S", barcode=ean13(1), category_path="apparel/tops"
        ),
        CatalogRow(product_code="TS", product_name="Tee", sku="TS-M", size="M", category_path="apparel/tops"),
        CatalogRow(product_code="JK", product_name="Jacket", sku="JK-1", category_path="apparel", returnable=False),
    ]
    first = await service.upsert_catalog(db, rows, chunk_size=2)
    assert (first.products_created, first.variants_created, first.errors) == (2, 3, [])
    again = await service.upsert_catalog(db, rows)
    assert (again.products_created, again.products_updated, again.variants_unchanged) == (0, 0, 3)
    rows[1] = CatalogRow(product_code="TS", product_name="Tee", sku="TS-M", size="XL", category_path="apparel/tops")
    third = await service.upsert_catalog(db, rows)
    assert (third.products_updated, third.variants_updated, third.variants_unchanged) == (1, 1, 2)
    assert await count(db, Variant) == 3
    assert await count(db, Product) == 2
    paths = (await db.scalars(select(Category.path).order_by(Category.path))).all()
    assert list(paths) == ["apparel", "apparel/tops"]
    assert (await service.get_variant(db, "TS-M")).size == "XL"
    assert [t for t, _ in await events(db)] == ["catalog.product_created"] * 2 + ["catalog.product_updated"]


async def test_upsert_catalog_reports_conflicting_rows_and_writes_the_rest(db: AsyncSession) -> None:
    apparel = CategoryFactory(code="apparel")
    product = ProductFactory()
    await persist(db, apparel, product, VariantFactory(sku="OWNER", barcode=ean13(5), product=product))
    report = await service.upsert_catalog(
        db,
        [
            CatalogRow(line=2, product_code="A", product_name="A", sku="A-1", barcode=ean13(5)),
            CatalogRow(line=3, product_code="A", product_name="A", sku="A-2", category_path="home/apparel"),
            CatalogRow(line=4, product_code="A", product_name="A", sku="A-3", category_code="missing"),
            CatalogRow(line=5, product_code="A", product_name="A", sku="A-4", category_code="apparel"),
        ],
    )
    assert [(e.line, e.code) for e in report.errors] == [
        (2, "barcode_taken"),
        (3, "category_path_conflict"),
        (4, "unknown_category"),
    ]
    assert report.variants_created == 1
    assert (await service.get_variant(db, "A-4")).product.category == "apparel"
