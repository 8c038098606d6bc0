"""Catalog bulk import at scale: `oms catalog import` of an N-row CSV, then a re-import.

Builds a scratch database (`oms_bench_catalog`) on the server of DATABASE_URL, migrates it,
writes a CSV of N variants (5 per product, 40 categories in a 2-level tree, valid EAN-13
barcodes), and times, through the real CLI in a subprocess:
  1. the first import (everything inserted),
  2. a re-import of the same file (nothing changes: no writes, no events),
  3. a re-import with every 10th variant's size changed.
Then times barcode look-ups and a category+search product page through the service.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python ops/bench/catalog_import.py --rows 100000
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402

from tests.support import alembic_config, drop_database, recreate_database  # noqa: E402

DB_NAME = "oms_bench_catalog"
HEADER = ["product_code", "product_name", "brand", "category_path", "sku", "size", "color", "barcode", "weight_grams"]
SIZES = ["XS", "S", "M", "L", "XL"]


def write_csv(path: Path, rows: int, changed_every: int = 0) -> None:
    from app.catalog.rules import gtin_check_digit

    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            product = i // len(SIZES)
            body = f"20{i:010d}"
            size = SIZES[i % len(SIZES)] + ("-tall" if changed_every and i % changed_every == 0 else "")
            out.writerow(
                [
                    f"P{product:07d}",
                    f"Product {product} shirt",
                    f"Brand{product % 50}",
                    f"dept{product % 8}/cat{product % 40}",
                    f"SKU{i:08d}",
                    size,
                    "blue",
                    body + str(gtin_check_digit(body)),
                    200 + i % 300,
                ]
            )


def run_import(url: str, path: Path) -> tuple[float, str]:
    env = {**os.environ, "DATABASE_URL": url, "OMS_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "catalog", "import", str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import failed: {result.stdout}\n{result.stderr}")
    return elapsed, result.stdout.strip().splitlines()[0]


async def time_reads(url: str, rows: int) -> None:
    os.environ["DATABASE_URL"] = url
    from app.catalog import service
    from app.core.db import create_engine, create_sessionmaker
    from app.core.settings import reload_settings
    from tests.factories.catalog import ean13

    engine = create_engine(reload_settings())
    maker = create_sessionmaker(engine)
    try:
        async with maker() as session:
            samples = []
            for i in range(0, rows, max(rows // 500, 1)):
                started = time.perf_counter()
                await service.find_variant_by_barcode(session, ean13(i))
                samples.append((time.perf_counter() - started) * 1000)
            print(f"barcode look-up: median {statistics.median(samples):.2f} ms, p99 {_p99(samples):.2f} ms")
            samples = []
            for _ in range(50):
                started = time.perf_counter()
                page = await service.list_products(session, category="dept3", q="shirt", limit=50)
                samples.append((time.perf_counter() - started) * 1000)
            assert len(page.items) == 50
            print(
                "product page (category subtree + search, 50 items with variants): "
                f"median {statistics.median(samples):.2f} ms"
            )
    finally:
        await engine.dispose()


def _p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    url = recreate_database(base, DB_NAME)
    try:
        command.upgrade(alembic_config(url), "head")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "catalog.csv"
            write_csv(path, args.rows)
            for label in ("first import", "re-import, unchanged"):
                elapsed, summary = run_import(url, path)
                print(f"{label}: {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s) -- {summary}")
            write_csv(path, args.rows, changed_every=10)
            elapsed, summary = run_import(url, path)
            print(f"re-import, 10% changed: {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s) -- {summary}")
        asyncio.run(time_reads(url, args.rows))
    finally:
        drop_database(base, DB_NAME)


if __name__ == "__main__":
    main()
