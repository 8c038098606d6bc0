"""`oms check`: stock and order integrity."""

from __future__ import annotations

import sys

import click

from app.cli.common import ensure_services, main, run_async


@main.command()
@click.option("--limit", default=1000, show_default=True, help="findings listed per check")
def check(limit: int) -> None:
    """Verify stock integrity for the whole database: on_hand = ledger sum, reserved = open
    reservations, in_transit = dispatched transfers, nothing negative; and every unit an open
    order still waits for is held by its reservation. Exit code 1 if anything is off."""
    settings = ensure_services()
    from app.core.db import create_engine, create_sessionmaker, transaction, without_statement_timeout
    from app.flows.integrity import OrderWithoutStock, orders_without_stock
    from app.inventory.schemas import Finding
    from app.inventory.service import check_integrity

    async def go() -> tuple[list[Finding], list[OrderWithoutStock]]:
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                # An operator's batch job over the whole ledger (a year of history is millions
                # of rows): the request timeout (OMS_DB_STATEMENT_TIMEOUT_MS) does not apply.
                await without_statement_timeout(session)
                return await check_integrity(session, limit=limit), await orders_without_stock(session, limit=limit)
        finally:
            await engine.dispose()

    findings, orders = run_async(go)
    for f in findings:
        click.echo(f"{f.check}: sku={f.sku} location={f.location} actual={f.actual} expected={f.expected}")
    for order in orders:
        click.echo(str(order))
    if findings or orders:
        click.echo(f"{len(findings) + len(orders)} finding(s)", err=True)
        sys.exit(1)
    click.echo("stock is consistent")
