"""`oms stock import FILE.csv`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import ensure_services, main, run_async


@main.group()
def stock() -> None:
    """Stock tools."""


@stock.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def stock_import(file: Path) -> None:
    """Import counted stock from a CSV (`location,sku,on_hand[,counted_at]`), applied like
    POS sync batches of up to 10,000 lines. Re-importing the same file changes nothing.
    Exit code 1 if any line was rejected."""
    settings = ensure_services()
    import hashlib

    from tqdm import tqdm

    from app.core import clock
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.errors import Problem
    from app.inventory.rules import CountRow, CountRowError, count_batches, read_count_csv
    from app.inventory.service import sync_counts

    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:32]
    with file.open(encoding="utf-8-sig", newline="") as lines:
        items = list(read_count_csv(lines))
    errors = [i for i in items if isinstance(i, CountRowError)]
    rows = [i for i in items if isinstance(i, CountRow)]
    now = clock.now()

    async def go() -> tuple[int, int, list[str]]:
        engine = create_engine(settings)
        maker = create_sessionmaker(engine)
        applied = unchanged = 0
        rejected: list[str] = []
        try:
            with tqdm(total=len(rows), unit=" lines", disable=None) as bar:
                for n, (location, batch) in enumerate(count_batches(rows)):
                    # One transaction per batch, idempotent by batch id: a re-run skips what landed.
                    try:
                        async with transaction(maker) as session:
                            out = await sync_counts(
                                session,
                                location_code=location,
                                batch_id=f"csv:{digest}:{n}",
                                lines=[(r.sku, r.on_hand, r.counted_at or now) for r in batch],
                            )
                        applied, unchanged = applied + out.applied, unchanged + out.unchanged
                        rejected += [f"{location} {r.sku}: {r.reason}: {r.detail}" for r in out.rejected]
                    except Problem as exc:
                        rejected.append(f"{location} (lines {batch[0].line}-{batch[-1].line}): {exc.code}: {exc}")
                    bar.update(len(batch))
        finally:
            await engine.dispose()
        return applied, unchanged, rejected

    applied, unchanged, rejected = run_async(go)
    for error in errors:
        click.echo(f"line {error.line}: {error.message}")
    for text in rejected:
        click.echo(text)
    click.echo(f"{len(rows)} lines: {applied} applied, {unchanged} unchanged, {len(rejected) + len(errors)} rejected")
    if rejected or errors:
        sys.exit(1)
