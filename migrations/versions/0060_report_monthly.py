"""reports: the channel dashboard's summary per month (per month, channel and location), so a
year's report sums ~1,300 rows instead of ~40,000

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


def downgrade() -> None:
    op.drop_table("report_monthly")
