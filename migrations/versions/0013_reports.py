"""reports: the channel dashboard's summary (per day, channel and location), the kiosk
endless-aisle SKUs, each order's current contribution; loyalty ledger by time

Revision ID: 0013
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.reports.rules import COUNTERS, MONEY_COUNTERS

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_daily",
        sa.Column("day", sa.Date(), nullable=False),
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
        sa.PrimaryKeyConstraint("day", "channel", "location", name=op.f("pk_report_daily")),
    )
    op.create_table(
        "report_endless_aisle_skus",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("units", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "location", "sku", name=op.f("pk_report_endless_aisle_skus")),
    )
    op.create_table(
        "report_order_facts",
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("contributions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_report_order_facts")),
    )
    # Points issued/redeemed in a period: an index-only scan instead of the whole ledger.
    op.create_index(
        "ix_loyalty_ledger_occurred_at",
        "loyalty_ledger",
        ["occurred_at"],
        postgresql_include=["kind", "points"],
    )


def downgrade() -> None:
    op.drop_index("ix_loyalty_ledger_occurred_at", table_name="loyalty_ledger")
    op.drop_table("report_order_facts")
    op.drop_table("report_endless_aisle_skus")
    op.drop_table("report_daily")
