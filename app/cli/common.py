"""The `oms` command group and what its commands share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from app.core import embedded
from app.core.settings import Settings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent.parent  # the repository (this file is app/cli/common.py)


def ensure_services() -> Settings:
    """The servers' settings (embedded ones started if the URLs are unset); without the
    embedded extra, an unset URL is a one-line error naming the fix, not a traceback."""
    try:
        return embedded.ensure_services()
    except embedded.EmbeddedServersMissing as exc:
        raise click.ClickException(str(exc)) from None


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def migrate_to_head() -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(cfg, "head")
    run_async(_partitions_ahead)


async def _partitions_ahead() -> None:
    """The ledger's and the outbox's partitions for this month and the next ones, so a
    deployment whose worker has not run yet still writes into monthly partitions."""
    from app.core import clock
    from app.core.db import create_engine, create_sessionmaker, transaction
    from app.core.partitions import ensure_partitions
    from app.core.settings import get_settings

    engine = create_engine(get_settings())
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await ensure_partitions(session, clock.now())
    finally:
        await engine.dispose()


@click.group()
def main() -> None:
    """Omnichannel OMS command line."""
