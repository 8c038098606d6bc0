"""Retention of the stock ledger: drop whole old months without breaking `oms check`.

The ledger (`stock_movements`) is partitioned by month on recorded_at (app.core.partitions).
Dropping months before a cut-off would leave on_hand different from the ledger's sum, so the
transaction that drops them first writes, per (SKU, location), one `opening_balance` row
carrying the sum of the dropped rows (none when it is 0), recorded and effective at the
cut-off (`carry_forward`). Afterwards:
- sum(ledger) = on_hand for every stock row (the dropped sum lives on in the opening balance);
- on_hand as of any time at or after the cut-off is unchanged: it is on_hand minus the rows
  effective after that time, and every dropped row and every opening balance is effective at
  or before the cut-off (effective_at <= recorded_at < cut-off for the dropped rows);
- a later prune sums earlier opening balances in with the rest of its months.
Nobody writes to the dropped months meanwhile: a row is always recorded "now", in the current
month, and the caller holds the months in SHARE mode (app.flows.prune_history).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.partitions import Partition
from app.inventory import repository

TABLE = "stock_movements"


async def open_reservations_before(session: AsyncSession, cutoff: datetime) -> int:
    """How many reservations made before `cutoff` are still open."""
    return await repository.open_reservations_before(session, cutoff)


async def carry_forward(session: AsyncSession, months: list[Partition], cutoff: datetime) -> int:
    """Write the opening balances of the ledger months about to be dropped; returns how many."""
    if not months:
        return 0
    return await repository.carry_forward(session, [m.name for m in months], cutoff)
