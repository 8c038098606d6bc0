"""`oms catalog import FILE.csv`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import ensure_services, main, run_async


@main.group()
def catalog() -> None:
    """Catalog tools."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--chunk-size", default=1000, show_default=True, type=click.IntRange(1, 5000), help="rows per transaction"
)
def catalog_import(file: Path, chunk_size: int) -> None:
    """Import a catalog CSV (columns: see app/catalog/service.py). Idempotent by SKU: a
    re-import updates. Bad lines are reported by number, the rest imports; exit code 1 if
    any line was rejected."""
    settings = ensure_services()
    from tqdm import tqdm

    from app.catalog.rules import CatalogRow, RowError, read_catalog_csv
    from app.catalog.service import ImportReport, upsert_catalog
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem

    async def go() -> ImportReport:
        engine = create_engine(settings)
        maker = create_sessionmaker(engine)
        report = ImportReport()
        pending: list[CatalogRow] = []

        async def flush() -> None:
            # One transaction per chunk: progress is durable, and a re-run is safe (idempotent by SKU).
            async with transaction(maker) as session:
                report.add(await upsert_catalog(session, pending, chunk_size=chunk_size))
            pending.clear()

        try:
            with file.open("rb") as raw:
                total = max(sum(1 for _ in raw) - 1, 0)  # lines, not records: a fine estimate for a bar
            with (
                file.open(encoding="utf-8-sig", newline="") as lines,
                tqdm(total=total, unit=" rows", disable=None) as bar,
            ):
                for item in read_catalog_csv(lines):
                    if isinstance(item, RowError):
                        report.rows += 1
                        report.errors.append(item)
                    else:
                        pending.append(item)
                    bar.update(1)
                    if len(pending) >= chunk_size:
                        await flush()
                if pending:
                    await flush()
        finally:
            await engine.dispose()
        report.errors.sort(key=lambda e: e.line)
        return report

    try:
        report = run_async(go)
    except (Problem, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{report.rows} rows: products {report.products_created} created, {report.products_updated} updated; "
        f"variants {report.variants_created} created, {report.variants_updated} updated, "
        f"{report.variants_unchanged} unchanged; {len(report.errors)} rejected"
    )
    for error in report.errors:
        click.echo(f"line {error.line}: {error.code}: {error.message}" + (f" (sku {error.sku})" if error.sku else ""))
    if report.errors:
        sys.exit(1)
