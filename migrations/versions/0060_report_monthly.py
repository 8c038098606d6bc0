"""reports: the channel dashboard's summary per month (per month, channel and location), so a
year's report sums ~1,300 rows instead of ~40,000; loyalty points issued/redeemed per day,
folded from the ledger rows recorded more than an hour ago; the endless-aisle SKU counts as
integer

Revision ID: 0060
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from app.reports.rules import COUNTERS, MONEY_COUNTERS

revision = "0060"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_monthly",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        *(
            sa.Column(
                name,
                sa.BigInteger() if name in MONEY_COUNTERS else sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
            )
            for name in COUNTERS
        ),
        sa.PrimaryKeyConstraint("month", "channel", "location", name=op.f("pk_report_monthly")),
        # The current month's rows are updated by every refresh: room on their page for the
        # new row version (HOT updates, no index entry), which autovacuum then reclaims.
        postgresql_with={"fillfactor": 50},
    )
    # Filled from the daily summary (a rebuild fills both from the orders' contributions).
    columns = ", ".join(COUNTERS)
    op.execute(
        f"INSERT INTO report_monthly (month, channel, location, {columns}) "
        "SELECT date_trunc('month', day)::date, channel, location, "
        + ", ".join(f"sum({c})" for c in COUNTERS)
        + " FROM report_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )

    # Counts whose sums PostgreSQL adds in int8 (a sum of bigint goes through numeric: the top
    # SKUs of a year sum ~150,000 rows).
    for column in ("lines", "units"):
        op.alter_column("report_endless_aisle_skus", column, type_=sa.Integer(), existing_type=sa.BigInteger())
    op.create_table(
        "report_points_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("issued", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("redeemed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_report_points_daily")),
    )
    op.create_table(
        "report_points_mark",
        sa.Column("one", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("recorded_before", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("one", name=op.f("ck_report_points_mark_one_row")),
        sa.PrimaryKeyConstraint("one", name=op.f("pk_report_points_mark")),
    )
    # The ledger rows recorded since the last fold, read at request time (index-only).
    op.create_index(
        "ix_loyalty_ledger_recorded_at",
        "loyalty_ledger",
        ["recorded_at"],
        postgresql_include=["occurred_at", "kind", "points"],
    )
    op.execute("INSERT INTO report_points_mark (recorded_before) VALUES (now() - interval '1 hour')")
    op.execute(
        "INSERT INTO report_points_daily (day, issued, redeemed) "
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date, coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0), "
        "coalesce(-sum(points) FILTER (WHERE kind = 'redeem'), 0) FROM loyalty_ledger "
        "WHERE kind IN ('earn', 'redeem') AND recorded_at < (SELECT recorded_before FROM report_points_mark) "
        "GROUP BY 1"
    )


def downgrade() -> None:
    op.drop_index("ix_loyalty_ledger_recorded_at", table_name="loyalty_ledger")
    op.drop_table("report_points_mark")
    op.drop_table("report_points_daily")
    op.drop_table("report_monthly")
    for column in ("lines", "units"):
        op.alter_column("report_endless_aisle_skus", column, type_=sa.BigInteger(), existing_type=sa.Integer())
