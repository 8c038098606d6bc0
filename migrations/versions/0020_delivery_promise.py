"""promise: each location's delivery-promise settings (cut-off, handling, transit, shipping days)

Revision ID: 0020
Revises: 0060
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Defaults give every existing location a sensible promise: orders before 14:00 local are
    # packed in 2 hours and leave the same day, Monday to Saturday; carriers take 2 days.
    op.add_column("locations", sa.Column("order_cutoff", sa.Time(), server_default="14:00", nullable=False))
    op.add_column("locations", sa.Column("handling_hours", sa.Integer(), server_default="2", nullable=False))
    op.add_column("locations", sa.Column("transit_days", sa.Integer(), server_default="2", nullable=False))
    op.add_column(
        "locations",
        sa.Column(
            "transit_days_by_country",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "locations",
        sa.Column(
            "shipping_days",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default=sa.text("'{1,2,3,4,5,6}'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_locations_promise_valid"),
        "locations",
        "handling_hours BETWEEN 0 AND 720 AND transit_days BETWEEN 0 AND 60 "
        "AND cardinality(shipping_days) BETWEEN 1 AND 7 AND shipping_days <@ '{1,2,3,4,5,6,7}'::smallint[]",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_locations_promise_valid"), "locations", type_="check")
    for column in ("shipping_days", "transit_days_by_country", "transit_days", "handling_hours", "order_cutoff"):
        op.drop_column("locations", column)
