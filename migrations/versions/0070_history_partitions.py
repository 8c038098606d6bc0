"""History that grows: the stock ledger and the outbox (the event feed) partitioned by month.

`stock_movements` becomes RANGE-partitioned on `recorded_at`, `outbox_events` on `occurred_at`
(both always "now" when a row is written, so every insert lands in the current month's
partition). The existing rows are kept: each table is renamed, a partitioned table LIKE it is
created with monthly partitions covering its rows and a few months ahead plus a DEFAULT
partition (the safety net for a row whose month has no partition yet), the rows are copied,
the id sequence is handed over and the old table dropped; then the keys, indexes and foreign
keys are built once, on the full table.

A primary key of a partitioned table must contain the partition column: the keys become
(id, recorded_at) and (id, occurred_at); `uq_outbox_events_event_id` becomes (event_id,
occurred_at) — event ids are random UUIDs, so uniqueness per month is uniqueness in practice,
and the index still serves lookups by event_id. Nothing references either table by a
foreign key.

The ledger may hold `opening_balance` rows: the balance `oms prune` carries forward when it
drops old months (README "History and retention"). `idempotency_records` is not partitioned:
its rows are only looked up by key and are deleted after `OMS_IDEMPOTENCY_TTL_DAYS` (an index
on created_at makes that delete cheap).

Timelines (`order_timeline`, `fulfillment_events`) are not partitioned: they are read per
order and live as long as their order does (README "History and retention").
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0070"
down_revision = "0030"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3

_REASONS = "'receipt','sale','return_restock','damage','cycle_count','transfer_out','transfer_in','correction','pos_sync'"

# table -> (partition column, statements that build its keys and indexes once partitioned)
PARTITIONED: dict[str, tuple[str, tuple[str, ...]]] = {
    "stock_movements": (
        "recorded_at",
        (
            "ALTER TABLE stock_movements ADD CONSTRAINT pk_stock_movements PRIMARY KEY (id, recorded_at)",
            "ALTER TABLE stock_movements ADD CONSTRAINT fk_stock_movements_location_code_locations"
            " FOREIGN KEY (location_code) REFERENCES locations (code)",
            "ALTER TABLE stock_movements ADD CONSTRAINT fk_stock_movements_sku_variants"
            " FOREIGN KEY (sku) REFERENCES variants (sku)",
            "CREATE INDEX ix_stock_movements_location_id ON stock_movements (location_code, id)",
            "CREATE INDEX ix_stock_movements_sku_id ON stock_movements (sku, id)",
            "CREATE INDEX ix_stock_movements_sku_location_effective"
            " ON stock_movements (sku, location_code, effective_at)",
        ),
    ),
    "outbox_events": (
        "occurred_at",
        (
            "ALTER TABLE outbox_events ADD CONSTRAINT pk_outbox_events PRIMARY KEY (id, occurred_at)",
            "ALTER TABLE outbox_events ADD CONSTRAINT uq_outbox_events_event_id_occurred_at"
            " UNIQUE (event_id, occurred_at)",
            "CREATE INDEX ix_outbox_events_type ON outbox_events (type)",
            "CREATE INDEX ix_outbox_events_unpublished ON outbox_events (id) WHERE published_at IS NULL",
            "CREATE INDEX ix_outbox_events_feed ON outbox_events (txid, id)",
        ),
    ),
}

# The same keys and indexes on the plain tables (downgrade).
PLAIN: dict[str, tuple[str, ...]] = {
    "stock_movements": (
        "ALTER TABLE stock_movements ADD CONSTRAINT pk_stock_movements PRIMARY KEY (id)",
        *PARTITIONED["stock_movements"][1][1:],
    ),
    "outbox_events": (
        "ALTER TABLE outbox_events ADD CONSTRAINT pk_outbox_events PRIMARY KEY (id)",
        "ALTER TABLE outbox_events ADD CONSTRAINT uq_outbox_events_event_id UNIQUE (event_id)",
        *PARTITIONED["outbox_events"][1][2:],
    ),
}


def _month(value: datetime) -> tuple[int, int]:
    value = value.astimezone(UTC)
    return value.year, value.month


def _next(month: tuple[int, int]) -> tuple[int, int]:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def _create_partitions(table: str, column: str, source: str) -> None:
    """Monthly partitions from the oldest row of `source` to MONTHS_AHEAD after this month
    (or the newest row), and the DEFAULT partition."""
    bind = op.get_bind()
    oldest, newest = bind.execute(sa.text(f"SELECT min({column}), max({column}) FROM {source}")).one()
    now = datetime.now(UTC)
    first = _month(oldest) if oldest is not None else _month(now)
    last = max(_month(newest) if newest is not None else first, _month(now))
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    month = first
    while month <= last:
        upper = _next(month)
        op.execute(
            f"CREATE TABLE {table}_p{month[0]:04d}_{month[1]:02d} PARTITION OF {table} FOR VALUES"
            f" FROM ('{month[0]:04d}-{month[1]:02d}-01 00:00+00') TO ('{upper[0]:04d}-{upper[1]:02d}-01 00:00+00')"
        )
        month = upper
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def _rebuild(table: str, *, partition_by: str | None, keys: tuple[str, ...]) -> None:
    """Replace `table` by a copy of it (partitioned by `partition_by`, or plain), rows kept."""
    old = f"{table}_before_0070"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    partitioning = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){partitioning}")
    if partition_by:
        _create_partitions(table, partition_by, old)
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    # The ids go on from where they were: the sequence moves to the new table before the old
    # one (its owner) is dropped.
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old} CASCADE")
    for statement in keys:
        op.execute(statement)


def upgrade() -> None:
    for table, (column, keys) in PARTITIONED.items():
        _rebuild(table, partition_by=column, keys=keys)
    op.execute("ALTER TABLE stock_movements DROP CONSTRAINT ck_stock_movements_reason_known")
    op.execute(
        "ALTER TABLE stock_movements ADD CONSTRAINT ck_stock_movements_reason_known"
        f" CHECK (reason IN ({_REASONS},'opening_balance'))"
    )
    op.create_index("ix_idempotency_records_created_at", "idempotency_records", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_created_at", table_name="idempotency_records")
    # An opening balance is a correction to a table that cannot name it.
    op.execute("UPDATE stock_movements SET reason = 'correction' WHERE reason = 'opening_balance'")
    op.execute("ALTER TABLE stock_movements DROP CONSTRAINT ck_stock_movements_reason_known")
    op.execute(f"ALTER TABLE stock_movements ADD CONSTRAINT ck_stock_movements_reason_known CHECK (reason IN ({_REASONS}))")
    for table, keys in PLAIN.items():
        _rebuild(table, partition_by=None, keys=keys)
