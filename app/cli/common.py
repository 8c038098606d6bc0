"""The `oms` command group and what its commands share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent.parent  # the repository (this file is app/cli/common.py)


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def migrate_to_head() -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(cfg, "head")


@click.group()
def main() -> None:
    """Omnichannel OMS command line."""
