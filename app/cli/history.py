"""`oms prune --before YYYY-MM-DD [--export DIR]`: archive and drop old months of history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from app.cli.common import ensure_services, main, run_async


@main.command()
@click.option("--before", "before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="write each month to DIR/<partition>.csv.gz and a manifest first",
)
def prune(before: datetime, export_dir: Path | None) -> None:
    """Drop the whole months of the stock ledger and the outbox (event feed) that ended on or
    before BEFORE's month began, exporting them first with --export. The ledger's balance is
    carried forward (one opening_balance row per SKU and location), so `oms check` and stock
    as of any time since the cut-off are unchanged. Refused (nothing dropped) for a month not
    yet over, or while those months hold open reservations, unrelayed events or pending
    webhook deliveries."""
    settings = ensure_services()
    from app.core import clock
    from app.core.db import create_engine, create_sessionmaker
    from app.core.partitions import PruneRefused
    from app.flows.prune_history import PruneOutcome, prune_history

    async def go() -> PruneOutcome:
        engine = create_engine(settings)
        try:
            maker = create_sessionmaker(engine)
            return await prune_history(maker, before=before.date(), export_dir=export_dir, now=clock.now())
        finally:
            await engine.dispose()

    try:
        outcome = run_async(go)
    except PruneRefused as exc:
        raise click.ClickException(f"prune refused: {exc}") from None
    click.echo(f"cut-off {outcome.cutoff.date().isoformat()}")
    for table in outcome.tables:
        months = ", ".join(table.dropped) or "nothing to drop"
        click.echo(f"{table.table}: {table.rows} row(s) dropped ({months})")
        if table.opening_balances:
            click.echo(f"{table.table}: {table.opening_balances} opening balance row(s) carried forward")
    if outcome.manifest is not None:
        click.echo(f"manifest {outcome.manifest}")
