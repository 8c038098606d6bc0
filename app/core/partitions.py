"""Monthly partitions of the append-only history (README "History and retention").

`stock_movements` (the stock ledger) and `outbox_events` (the outbox and event feed) are
RANGE-partitioned by month on the time a row is written (migration 0070). A partition is named
`<table>_pYYYY_MM` and holds [first of the month, first of the next) in UTC; `<table>_default`
takes a row whose month has no partition yet (a safety net: it should stay empty).

`ensure_partitions` creates the current month and MONTHS_AHEAD months after it, idempotently
(the periodic `history.partitions` actor, `oms migrate` and `oms serve`); a month created late
takes its rows over from the default partition. `oms prune` (app.flows.prune_history) exports,
detaches and drops whole months older than a cut-off with `export` and `drop`.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db

# table -> its partition column
PARTITIONED: dict[str, str] = {"stock_movements": "recorded_at", "outbox_events": "occurred_at"}
MONTHS_AHEAD = 3
# Serialises partition maintenance between processes (any constant bigint).
_LOCK_KEY = 7_020_070


def month_start(value: date | datetime) -> datetime:
    """The first instant (UTC) of the month of `value`."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return datetime(value.year, value.month, 1, tzinfo=UTC)


def add_months(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Partition:
    table: str
    month: datetime  # first instant of the month it holds

    @property
    def name(self) -> str:
        return f"{self.table}_p{self.month.year:04d}_{self.month.month:02d}"

    @property
    def end(self) -> datetime:
        return add_months(self.month, 1)


async def partitions(session: AsyncSession, table: str) -> list[Partition]:
    """The monthly partitions of `table`, oldest first (the default one left out)."""
    names = await db.fetch(
        session,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = CAST($1 AS regclass)",
        table,
    )
    found = []
    for row in names:
        match = re.fullmatch(rf"{table}_p(\d{{4}})_(\d{{2}})", row[0])
        if match:
            found.append(Partition(table, datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda p: p.month)


async def create_month(session: AsyncSession, partition: Partition) -> None:
    """Create `partition`, moving its month's rows out of the default partition first (ATTACH
    refuses a range the default partition still holds rows of)."""
    table, column = partition.table, PARTITIONED[partition.table]
    await db.execute(session, f"CREATE TABLE {partition.name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    await db.execute(
        session,
        f"WITH moved AS (DELETE FROM {table}_default WHERE {column} >= $1 AND {column} < $2 RETURNING *)"
        f" INSERT INTO {partition.name} SELECT * FROM moved",
        partition.month,
        partition.end,
    )
    await db.execute(
        session,
        f"ALTER TABLE {table} ATTACH PARTITION {partition.name}"
        f" FOR VALUES FROM ('{partition.month.isoformat()}') TO ('{partition.end.isoformat()}')",
    )


async def ensure_partitions(session: AsyncSession, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions of this month and the next `months_ahead` that are missing;
    returns their names. Idempotent; concurrent callers take turns (advisory lock)."""
    await db.execute(session, "SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
    created = []
    for table in PARTITIONED:
        existing = {p.month for p in await partitions(session, table)}
        for n in range(months_ahead + 1):
            month = add_months(month_start(now), n)
            if month not in existing:
                partition = Partition(table, month)
                await create_month(session, partition)
                created.append(partition.name)
    return created


async def older_than(session: AsyncSession, table: str, cutoff: datetime) -> list[Partition]:
    """The monthly partitions of `table` that end on or before `cutoff`."""
    return [p for p in await partitions(session, table) if p.end <= cutoff]


async def lock_for_archive(session: AsyncSession, parts: list[Partition]) -> None:
    """Nobody writes to these months until the transaction ends (reads go on)."""
    if parts:
        await db.execute(session, f"LOCK TABLE {', '.join(p.name for p in parts)} IN SHARE MODE")


@dataclass(frozen=True)
class Archive:
    table: str
    partition: str
    month: str  # YYYY-MM
    file: str
    rows: int
    sha256: str  # of the uncompressed CSV


class _Sink:
    def __init__(self, out: gzip.GzipFile) -> None:
        self._out = out
        self.sha256 = hashlib.sha256()

    async def write(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self._out.write(chunk)


@contextmanager
def _archive_file(path: Path) -> Iterator[_Sink]:
    """A gzip file written chunk by chunk under a temporary name, renamed once complete; the
    SHA-256 is of the uncompressed CSV (`zcat FILE | sha256sum` checks it). Blocking writes:
    `oms prune` is a command line job, not a request."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    with gzip.open(partial, "wb") as out:
        yield _Sink(out)
    partial.replace(path)


async def export(session: AsyncSession, partition: Partition, directory: Path) -> Archive:
    """Write every row of `partition` to `<directory>/<partition>.csv.gz` (CSV with a header,
    in id order), from the session's snapshot."""
    path = directory / f"{partition.name}.csv.gz"
    with _archive_file(path) as sink:
        rows = await db.copy_out(session, f"SELECT * FROM {partition.name} ORDER BY id", sink.write)
    return Archive(
        table=partition.table,
        partition=partition.name,
        month=f"{partition.month.year:04d}-{partition.month.month:02d}",
        file=path.name,
        rows=rows,
        sha256=sink.sha256.hexdigest(),
    )


async def row_counts(session: AsyncSession, parts: list[Partition]) -> dict[str, int]:
    counts = {}
    for p in parts:
        counts[p.name] = int(await db.fetchval(session, f"SELECT count(*) FROM {p.name}"))
    return counts


# How long a prune waits for the table's writers before giving up the attempt (and retrying):
# while it waits, every new writer queues behind it, so the wait must stay short.
DROP_LOCK_TIMEOUT_MS = 500


async def drop(session: AsyncSession, table: str, parts: list[Partition]) -> None:
    """Detach and drop `parts` of `table`. The table's ACCESS EXCLUSIVE lock is taken first,
    waiting at most DROP_LOCK_TIMEOUT_MS (then the statement fails with SQLSTATE 55P03,
    `is_lock_timeout`, and the caller retries): a writer that holds a stock row and waits for
    the table behind this lock would otherwise deadlock with a writer that holds the table."""
    if not parts:
        return
    await db.execute(session, f"SET LOCAL lock_timeout = {DROP_LOCK_TIMEOUT_MS}")
    await db.execute(session, f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    for p in parts:
        await db.execute(session, f"ALTER TABLE {table} DETACH PARTITION {p.name}")
        await db.execute(session, f"DROP TABLE {p.name}")


def is_lock_timeout(error: BaseException) -> bool:
    orig = getattr(error, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "") == "55P03"


class PruneRefused(Exception):
    """`oms prune` would break something still in use; nothing was dropped."""


@dataclass(frozen=True)
class Pruned:
    """What one table's prune did: the archives written and the partitions dropped."""

    table: str
    archives: list[Archive]
    dropped: list[str]
    rows: int
    opening_balances: int = 0
