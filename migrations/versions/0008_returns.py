"""returns: return policies per category, returns and their lines, refunds per tender,
exchanges, and the per-order-line running totals that guard every return

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_policies",
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("days", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("days >= 0 AND days <= 3650", name=op.f("ck_return_policies_days_in_range")),
        sa.PrimaryKeyConstraint("category_code", name=op.f("pk_return_policies")),
    )
    op.create_table(
        "order_line_returns",
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("returned_quantity", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_quantity", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("refunded_amount >= 0", name=op.f("ck_order_line_returns_refunded_amount_not_negative")),
        sa.CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= returned_quantity",
            name=op.f("ck_order_line_returns_refunded_within"),
        ),
        sa.CheckConstraint("returned_quantity >= 0", name=op.f("ck_order_line_returns_returned_not_negative")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_line_returns_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_order_line_returns")),
    )
    op.create_table(
        "returns",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("order_number", sa.String(length=12), nullable=False),
        sa.Column("mode", sa.String(length=15), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("location_code", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refund_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delivery_refund", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_shortfall", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("mode IN ('authorization','immediate')", name=op.f("ck_returns_mode_known")),
        sa.CheckConstraint(
            "status IN ('requested','authorized','received','refunded','closed','rejected')",
            name=op.f("ck_returns_status_known"),
        ),
        sa.CheckConstraint(
            "refund_total >= 0 AND delivery_refund >= 0 AND points_shortfall >= 0",
            name=op.f("ck_returns_amounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_returns_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("number", name=op.f("uq_returns_number")),
    )
    op.create_index("ix_returns_location_status", "returns", ["location_code", "status", "created_at"], unique=False)
    op.create_index("ix_returns_order", "returns", ["order_id", "created_at"], unique=False)
    op.create_table(
        "return_exchanges",
        sa.Column("return_id", sa.UUID(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("new_price", sa.BigInteger(), nullable=False),
        sa.Column("even", sa.Boolean(), nullable=False),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("paid_by", sa.String(length=10), nullable=True),
        sa.Column("location_code", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "paid_by IS NULL OR paid_by IN ('cash','card')", name=op.f("ck_return_exchanges_paid_by_known")
        ),
        sa.CheckConstraint("credit >= 0 AND new_price >= 0", name=op.f("ck_return_exchanges_amounts_not_negative")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_exchanges_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_exchanges_return_id_returns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("return_id", name=op.f("pk_return_exchanges")),
    )
    op.create_table(
        "return_lines",
        sa.Column("return_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("restocked", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("damaged", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("overridden", sa.String(length=30), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_quantity_positive")),
        sa.CheckConstraint("refund_amount >= 0", name=op.f("ck_return_lines_refund_not_negative")),
        sa.CheckConstraint(
            "restocked + damaged IN (0, quantity)", name=op.f("ck_return_lines_dispositions_cover_quantity")
        ),
        sa.CheckConstraint("restocked >= 0 AND damaged >= 0", name=op.f("ck_return_lines_dispositions_not_negative")),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_lines_return_id_returns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("return_id", "line_no", name=op.f("pk_return_lines")),
    )
    op.create_table(
        "return_refunds",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("return_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("tender_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending','done')", name=op.f("ck_return_refunds_status_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_return_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_refunds_return_id_returns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["order_tenders.id"], name=op.f("fk_return_refunds_tender_id_order_tenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_refunds")),
    )
    op.create_index(
        "ix_return_refunds_pending",
        "return_refunds",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_return_refunds_return", "return_refunds", ["return_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_return_refunds_return", table_name="return_refunds")
    op.drop_index(
        "ix_return_refunds_pending", table_name="return_refunds", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("return_refunds")
    op.drop_table("return_lines")
    op.drop_table("return_exchanges")
    op.drop_index("ix_returns_order", table_name="returns")
    op.drop_index("ix_returns_location_status", table_name="returns")
    op.drop_table("returns")
    op.drop_table("order_line_returns")
    op.drop_table("return_policies")
