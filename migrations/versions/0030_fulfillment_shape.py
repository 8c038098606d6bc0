"""one fulfillment shape: saved-address ids, the contact of an order and of its pickup

- Each saved address in `customers.addresses` gets an `id` (an order delivers to one by it).
- `orders.contact_email` / `orders.contact_phone`: who to tell when a guest's order is ready
  (normalized like the customer record: lower-case e-mail, E.164 phone).
- `fulfillment_orders.pickup_contact`: the same contact on the pickup, which the
  `fulfillment.pickup_ready` event carries to the notifier.

Revision ID: 0030
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE customers SET addresses = (
            SELECT jsonb_agg(CASE WHEN a ? 'id' THEN a ELSE a || jsonb_build_object('id', gen_random_uuid()::text) END
                             ORDER BY ordinality)
            FROM jsonb_array_elements(addresses) WITH ORDINALITY AS t(a, ordinality)
        )
        WHERE jsonb_array_length(addresses) > 0
        """
    )
    op.add_column("orders", sa.Column("contact_email", sa.String(254), nullable=True))
    op.add_column("orders", sa.Column("contact_phone", sa.String(16), nullable=True))
    op.create_check_constraint(op.f("ck_orders_contact_email_lower_case"), "orders", "contact_email = lower(contact_email)")
    op.create_check_constraint(op.f("ck_orders_contact_phone_e164"), "orders", "contact_phone ~ '^\\+[1-9][0-9]{1,14}$'")
    op.add_column("fulfillment_orders", sa.Column("pickup_contact", JSONB(none_as_null=True), nullable=True))


def downgrade() -> None:
    op.drop_column("fulfillment_orders", "pickup_contact")
    op.drop_constraint(op.f("ck_orders_contact_phone_e164"), "orders", type_="check")
    op.drop_constraint(op.f("ck_orders_contact_email_lower_case"), "orders", type_="check")
    op.drop_column("orders", "contact_phone")
    op.drop_column("orders", "contact_email")
    op.execute(
        """
        UPDATE customers SET addresses = (
            SELECT jsonb_agg(a - 'id' ORDER BY ordinality)
            FROM jsonb_array_elements(addresses) WITH ORDINALITY AS t(a, ordinality)
        )
        WHERE jsonb_array_length(addresses) > 0
        """
    )
