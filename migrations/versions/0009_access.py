"""access: who holds a reservation made through /v1/reservations; when an API key was last used

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# References the order and fulfilment flows reserve under (app/inventory/rules.py: FLOW_REFERENCE_PREFIXES).
_FLOW_REFERENCE = r"^(order|resource|fulfillment|exchange):"


def upgrade() -> None:
    op.add_column("reservations", sa.Column("holder", sa.String(length=80), nullable=True))
    # Holds made earlier through the API belong to their key's channel (and store): the same
    # rule as app/inventory/rules.py: holder_of. The flows' own reservations keep no holder.
    op.execute(
        "UPDATE reservations r SET holder = coalesce(k.channel, k.role) || coalesce('@' || k.location_code, '') "
        f"FROM api_keys k WHERE k.id = r.actor_key_id AND r.reference !~ '{_FLOW_REFERENCE}'"
    )
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_api_keys_created_at_id", "api_keys", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_created_at_id", table_name="api_keys")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("reservations", "holder")
