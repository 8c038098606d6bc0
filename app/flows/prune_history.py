"""Prune history: `oms prune --before YYYY-MM-DD [--export DIR]` — core (outbox and event
feed), inventory (the stock ledger) and integration (webhook deliveries still to send).

Drops every whole month partition of `outbox_events` and `stock_movements` that ends on or
before the first day of the month of `before`, after writing each one to
`<DIR>/<partition>.csv.gz` and listing them with their row counts and SHA-256 in
`<DIR>/manifest-<cut-off>.json` (README "History and retention").

Refused, with nothing dropped, when the cut-off is inside the current month, within the
stock count horizon (a count dated before the cut-off would be compared with a ledger that
no longer has its months), or when a dropped month still matters: an open reservation made
before it, an event not relayed yet, a webhook delivery still to send.

Transaction boundary: one read transaction for the checks; then, per table (the outbox, then
the ledger), one that exports its months (locked against writes) and one that re-checks,
writes the ledger's opening balances and detaches and drops the months — its months are
gone only when that commits. The drop takes the table's lock with a short timeout and is
retried: a drop waiting behind a long writer would make the writers queue behind it (and a
writer holding a stock row while queued deadlock with one holding the table), so orders
placed meanwhile wait at most that timeout and lose nothing.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import outbox, partitions
from app.core.db import transaction
from app.core.partitions import Pruned, PruneRefused
from app.core.settings import get_settings
from app.integration import service as integration
from app.inventory import service as inventory


@dataclass(frozen=True)
class PruneOutcome:
    cutoff: datetime
    tables: list[Pruned]
    manifest: Path | None


def cutoff_of(before: date, now: datetime) -> datetime:
    """The first instant kept: the start of the month of `before`. PruneRefused when that is
    too recent."""
    if before > partitions.month_start(now).date():
        raise PruneRefused(f"{before} is inside the current month: the cut-off must be a month that has ended")
    cutoff = partitions.month_start(before)
    horizon = get_settings().stock_count_horizon_days
    if cutoff > now - timedelta(days=horizon):
        raise PruneRefused(
            f"stock counts may be dated up to {horizon} days back (OMS_STOCK_COUNT_HORIZON_DAYS):"
            f" keep the ledger after {(now - timedelta(days=horizon)).date()}"
        )
    return cutoff


async def refusals(session: AsyncSession, cutoff: datetime) -> list[str]:
    """Why the months before `cutoff` may not be dropped yet (empty: they may)."""
    reasons = []
    if (n := await inventory.open_reservations_before(session, cutoff)) > 0:
        reasons.append(f"{n} reservation(s) made before the cut-off are still open")
    if (n := await outbox.unpublished_before(session, cutoff)) > 0:
        reasons.append(f"{n} event(s) from before the cut-off are not relayed yet")
    if (n := await integration.pending_deliveries_before(session, cutoff)) > 0:
        reasons.append(f"{n} webhook delivery(ies) of events from before the cut-off are still pending")
    return reasons


async def prune_history(
    maker: async_sessionmaker[AsyncSession], *, before: date, export_dir: Path | None, now: datetime
) -> PruneOutcome:
    cutoff = cutoff_of(before, now)
    async with transaction(maker) as session:
        await _refuse_if_in_use(session, cutoff)
    done: list[Pruned] = []
    manifest = None
    for table in PRUNED:
        done.append(await _prune_table(maker, table, cutoff, export_dir))
        if export_dir is not None:
            manifest = write_manifest(export_dir, cutoff, now, done)
    return PruneOutcome(cutoff=cutoff, tables=done, manifest=manifest)


# The outbox first: its months matter to nothing else once relayed.
PRUNED = ("outbox_events", "stock_movements")
DROP_ATTEMPTS = 40


async def _refuse_if_in_use(session: AsyncSession, cutoff: datetime) -> None:
    reasons = await refusals(session, cutoff)
    if reasons:
        raise PruneRefused("; ".join(reasons))


async def _prune_table(
    maker: async_sessionmaker[AsyncSession], table: str, cutoff: datetime, export_dir: Path | None
) -> Pruned:
    """Export the months of `table` before `cutoff` (one transaction, the months locked against
    writes), then drop them (another, retried while the table's writers keep it busy: the drop
    waits for them only briefly, app.core.partitions.drop). The drop re-checks that nothing is
    in use and that the months still hold exactly the rows exported."""
    async with transaction(maker) as session:
        months = await partitions.older_than(session, table, cutoff)
        await partitions.lock_for_archive(session, months)
        await _refuse_if_in_use(session, cutoff)
        archives = [await partitions.export(session, m, export_dir) for m in months] if export_dir else []
        counts = await partitions.row_counts(session, months)
    for attempt in range(1, DROP_ATTEMPTS + 1):
        try:
            async with transaction(maker) as session:
                await partitions.lock_for_archive(session, months)
                await _refuse_if_in_use(session, cutoff)
                if await partitions.row_counts(session, months) != counts:
                    raise PruneRefused(f"{table} changed while it was exported; run the prune again")
                carried = await inventory.carry_forward(session, months, cutoff) if table == "stock_movements" else 0
                await partitions.drop(session, table, months)
            break
        except DBAPIError as error:
            if not partitions.is_lock_timeout(error) or attempt == DROP_ATTEMPTS:
                raise
            await asyncio.sleep(min(0.05 * attempt, 1.0))
    return Pruned(
        table=table,
        archives=archives,
        dropped=[m.name for m in months],
        rows=sum(counts.values()),
        opening_balances=carried,
    )


def write_manifest(directory: Path, cutoff: datetime, now: datetime, tables: list[Pruned]) -> Path:
    """`manifest-<cut-off>.json`: the files of each dropped month with rows and SHA-256."""
    path = directory / f"manifest-{cutoff.date().isoformat()}.json"
    document = {
        "cutoff": cutoff.isoformat(),
        "written_at": now.isoformat(),
        "format": "gzip-compressed CSV with a header row, one file per month partition, rows in id order",
        "tables": [asdict(t) for t in tables],
    }
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(path)
    return path
