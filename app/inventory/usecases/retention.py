"""Retention of the stock ledger: drop whole old months without breaking `oms check`.

The ledger (`stock_movements`) is partitioned by month on recorded_at (app.core.partitions).
Dropping months before a cut-off would leave on_hand different from the ledger's sum, so the
same transaction writes, per (SKU, location), one `opening_balance` row carrying the sum of
the dropped rows (skipped when it is 0), recorded and effective at the cut-off. Afterwards:
- sum(ledger) = on_hand for every row (the dropped sum lives on in the opening balance);
- on_hand as of any time at or after the cut-off is unchanged: it is on_hand minus the rows
  effective after that time, and every dropped row and every opening balance is effective at
  or before the cut-off (effective_at <= recorded_at < cut-off for the dropped rows);
- a second prune sums earlier opening balances with the rest of its months.
Nobody writes to the dropped months meanwhile (they are locked in SHARE mode: a row is always
recorded "now", in the current month), and the drop waits for the transactions that use the
ledger, so a stock change made concurrently is kept whole.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import partitions
from app.inventory import repository

TABLE = "stock_movements"


async def open_reservations_before(session: AsyncSession, cutoff: datetime) -> int:
    """How many reservations made before `cutoff` are still open."""
    return await repository.open_reservations_before(session, cutoff)


async def prune_ledger(session: AsyncSession, cutoff: datetime, export_dir: Path | None) -> partitions.Pruned:
    """Export and drop the ledger's months that end on or before `cutoff`, carrying their
    balance forward. PruneRefused (nothing dropped) while a reservation made before the
    cut-off is still open: the orders and holds it belongs to are still moving stock."""
    months = await partitions.older_than(session, TABLE, cutoff)
    await partitions.lock_for_archive(session, months)
    still_open = await repository.open_reservations_before(session, cutoff)
    if still_open:
        raise partitions.PruneRefused(f"{still_open} reservation(s) made before the cut-off are still open")
    if not months:
        return partitions.Pruned(table=TABLE, archives=[], dropped=[], rows=0)
    carried = await repository.carry_forward(session, [m.name for m in months], cutoff)
    return await partitions.archive_and_drop(session, TABLE, months, export_dir, opening_balances=carried)
