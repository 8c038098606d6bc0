"""`oms reports rebuild`: the channel dashboard's summary."""

from __future__ import annotations

from typing import Any

import click

from app.cli.common import ensure_services, main, run_async


@main.group()
def reports() -> None:
    """The channel dashboard's summary."""


@reports.command("rebuild")
@click.option("--batch", default=5000, show_default=True, help="orders per transaction")
def reports_rebuild(batch: int) -> None:
    """Recompute every order's contribution, then the dashboard's summary in bulk from them
    (after installing, or to repair it); safe while the service runs: the dashboard shows
    the previous summary until the end, and the consumer's refreshes meanwhile are kept.
    The summary comes out compact: no VACUUM needed afterwards (ops/bench/RESULTS.md)."""
    settings = ensure_services()

    async def go() -> int:
        from app.core.db import autocommit, create_engine, create_sessionmaker, transaction
        from app.reports import service

        engine = create_engine(settings)
        maker, done = create_sessionmaker(engine), 0
        after: tuple[Any, Any] | None = None
        try:
            async with transaction(maker) as session:
                await service.begin_rebuild(session)
            while True:
                async with transaction(maker) as session:
                    after = await service.rebuild(session, after, batch)
                if after is None:
                    break
                done += batch
            async with transaction(maker) as session:
                await service.end_rebuild(session)
            async with autocommit(maker) as session:
                await service.tidy_summary(session)
            return done
        finally:
            await engine.dispose()

    done = run_async(go)
    click.echo(f"summary rebuilt: {done} orders at most")
