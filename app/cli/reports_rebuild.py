"""`oms reports rebuild`: the channel dashboard's summary."""

from __future__ import annotations

from typing import Any

import click

from app.cli.common import ensure_services, main, run_async


@main.group()
def reports() -> None:
    """The channel dashboard's summary."""


@reports.command("rebuild")
@click.option("--batch", default=2000, show_default=True, help="orders per transaction")
def reports_rebuild(batch: int) -> None:
    """Recompute every order's contribution to the dashboard's summary (after installing, or
    to repair it); idempotent, safe while the service runs. A full rebuild leaves the summary
    bloated: then `VACUUM (FULL, ANALYZE) report_daily` (seconds; ops/bench/RESULTS.md)."""
    settings = ensure_services()

    async def go() -> int:
        from app.core.db import create_engine, create_sessionmaker, transaction
        from app.reports.service import rebuild

        engine = create_engine(settings)
        maker, done = create_sessionmaker(engine), 0
        after: tuple[Any, Any] | None = None
        try:
            while True:
                async with transaction(maker) as session:
                    after = await rebuild(session, after, batch)
                if after is None:
                    return done
                done += batch
        finally:
            await engine.dispose()

    done = run_async(go)
    click.echo(f"summary rebuilt: {done} orders at most")
