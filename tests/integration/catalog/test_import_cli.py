"""`oms catalog import FILE.csv` in a real subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog import service
from app.catalog.models import Category, Product, Variant
from app.core.models import OutboxEvent
from tests.conftest import TEST_DB_URL
from tests.factories.catalog import ean13
from tests.support import ROOT

pytestmark = pytest.mark.slow

HEADER = (
    "product_code,product_name,brand,category_path,category_name,"
    "sku,size,color,barcode,weight_grams,not_sold_in,returnable,attr.material"
)


def run_import(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "OMS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "catalog", "import", str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def counts(maker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with maker() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Product)) or 0),
            int(await session.scalar(select(func.count()).select_from(Variant)) or 0),
            int(await session.scalar(select(func.count()).select_from(Category)) or 0),
        )


async def test_import_reimport_and_bad_rows(committed: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    csv_file = tmp_path / "catalog.csv"
    lines = [
        HEADER,
        f"TS,Oxford Tee,Acme,apparel/tops,Tops,TS-S,S,blue,{ean13(1)},150,,true,cotton",
        f"TS,Oxford Tee,Acme,apparel/tops,Tops,TS-M,M,blue,{ean13(2)},160,,true,cotton",
        "TS,Oxford Tee,Acme,apparel/tops,Tops,TS-L,L,blue,4006381333932,170,,true,cotton",  # bad check digit
        f"JK,Rain Jacket,Acme,apparel,,JK-1,L,black,{ean13(3)},900,web|kiosk,false,",
        "JK,Rain Jacket,Acme,apparel,,JK-2,XL,black,,-5,web|kiosk,false,",  # negative weight
        f"MG,Mug,,home,,MG-1,,white,{ean13(4)},350,,,",
    ]
    csv_file.write_text("\n".join(lines) + "\n")

    first = run_import(csv_file)
    assert first.returncode == 1, first.stderr
    assert (
        "6 rows: products 3 created, 0 updated; variants 4 created, 0 updated, 0 unchanged; 2 rejected" in first.stdout
    )
    assert "line 4: invalid_barcode: '4006381333932' has a wrong check digit (sku TS-L)" in first.stdout
    assert "line 6: invalid_weight:" in first.stdout
    assert await counts(committed) == (3, 4, 3)

    # Fix the bad rows, change one size: a re-import updates, never duplicates.
    lines[3] = lines[3].replace("4006381333932", "4006381333931")
    lines[5] = lines[5].replace("-5", "950")
    lines[2] = lines[2].replace(",M,blue", ",M-tall,blue")
    csv_file.write_text("\n".join(lines) + "\n")
    second = run_import(csv_file)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "products 0 created, 2 updated; variants 2 created, 1 updated, 3 unchanged; 0 rejected" in second.stdout
    assert await counts(committed) == (3, 6, 3)

    async with committed() as session:
        shirt = await service.get_variant(session, "TS-M")
        assert (shirt.size, shirt.attributes, shirt.product.category_path) == (
            "M-tall",
            {"material": "cotton"},
            "apparel/tops",
        )
        jacket = await service.find_variant_by_barcode(session, ean13(3))
        assert (jacket.product.not_sold_in, jacket.product.returnable) == (["kiosk", "web"], False)
        tops = await session.scalar(select(Category.name).where(Category.code == "tops"))
        assert tops == "Tops"
        kinds = (await session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id))).all()
        assert list(kinds) == ["catalog.product_created"] * 3 + ["catalog.product_updated"] * 2

    third = run_import(csv_file)
    assert "variants 0 created, 0 updated, 6 unchanged; 0 rejected" in third.stdout
    assert await counts(committed) == (3, 6, 3)


async def test_import_refuses_a_file_with_a_bad_header(
    committed: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("product_code,name,sku\nP,N,S\n")
    result = run_import(csv_file)
    assert result.returncode == 1
    assert "missing column(s): product_name; unknown column(s): name" in result.stderr
    assert await counts(committed) == (0, 0, 0)
