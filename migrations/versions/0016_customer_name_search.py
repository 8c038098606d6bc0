"""journeys2: the contact center finds a customer by the start of their name

Revision ID: 0016
Revises: 0012
"""

from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # lower(name) LIKE 'prefix%' walks this index (text_pattern_ops: any collation); tombstones
    # of merges are never found by name (their survivor is).
    op.execute(
        "CREATE INDEX ix_customers_name_prefix ON customers (lower(name) text_pattern_ops, id) "
        "WHERE merged_into_id IS NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_customers_name_prefix", table_name="customers")
