"""one spelling: `fulfillment` in stored values and column names (was `fulfilment` in places)

The order status `released_to_fulfilment` becomes `released_to_fulfillment` (orders and their
timeline), the columns `orders.fulfilment` and `sourcing_decisions.fulfilment` become
`fulfillment`. Published events keep the payloads they were published with.

Revision ID: 0014
Revises: 0016
"""

from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None

_OLD, _NEW = "released_to_fulfilment", "released_to_fulfillment"
_OTHER_STATUSES = ("placed", "on_hold", "partially_fulfilled", "fulfilled", "completed", "cancelled")


def _status_check(released: str) -> str:
    statuses = (*_OTHER_STATUSES[:2], released, *_OTHER_STATUSES[2:])
    return "status IN (" + ",".join(f"'{status}'" for status in statuses) + ")"


def _respell(old: str, new: str, old_word: str, new_word: str) -> None:
    op.drop_constraint(op.f("ck_orders_status_known"), "orders", type_="check")
    op.execute(f"UPDATE orders SET status = '{new}' WHERE status = '{old}'")
    op.execute(f"UPDATE order_timeline SET from_status = '{new}' WHERE from_status = '{old}'")
    op.execute(f"UPDATE order_timeline SET to_status = '{new}' WHERE to_status = '{old}'")
    op.create_check_constraint(op.f("ck_orders_status_known"), "orders", _status_check(new))
    # A renamed column's constraints follow it; their names are renamed here.
    op.alter_column("orders", old_word, new_column_name=new_word)
    op.execute(f"ALTER TABLE orders RENAME CONSTRAINT ck_orders_{old_word}_known TO ck_orders_{new_word}_known")
    op.alter_column("sourcing_decisions", old_word, new_column_name=new_word)


def upgrade() -> None:
    _respell(_OLD, _NEW, "fulfilment", "fulfillment")


def downgrade() -> None:
    _respell(_NEW, _OLD, "fulfillment", "fulfilment")
