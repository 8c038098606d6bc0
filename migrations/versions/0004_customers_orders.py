"""customers and orders

Revision ID: 0004
Revises: 0003

Customers own `_customers_up()` / `_customers_down()`; the orders domain adds its own
pair. Orders' tables reference customers, so orders go up after and down before them.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _customers_up()
    _orders_up()


def downgrade() -> None:
    _orders_down()
    _customers_down()


# ---- customers -----------------------------------------------------------------------


def _customers_up() -> None:
    op.create_table(
        'customers',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('card_number', sa.String(length=13), nullable=False),
        sa.Column('addresses', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
        sa.Column('marketing_consent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('marketing_consent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('source_channel', sa.String(length=20), nullable=True),
        sa.Column('merged_into_id', sa.UUID(), nullable=True),
        sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("card_number ~ '^29[0-9]{11}$'", name=op.f('ck_customers_card_number_format')),
        sa.CheckConstraint('email = lower(email)', name=op.f('ck_customers_email_lower_case')),
        sa.CheckConstraint("phone ~ '^\\+[1-9][0-9]{1,14}$'", name=op.f('ck_customers_phone_e164')),
        sa.CheckConstraint('merged_into_id <> id', name=op.f('ck_customers_not_merged_into_self')),
        sa.CheckConstraint(
            '(merged_into_id IS NULL) = (merged_at IS NULL)', name=op.f('ck_customers_merged_at_with_merge')
        ),
        sa.ForeignKeyConstraint(
            ['merged_into_id'], ['customers.id'], name=op.f('fk_customers_merged_into_id_customers')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
        sa.UniqueConstraint('card_number', name=op.f('uq_customers_card_number')),
        sa.UniqueConstraint('email', name=op.f('uq_customers_email')),
        sa.UniqueConstraint('phone', name=op.f('uq_customers_phone')),
    )
    op.create_index(op.f('ix_customers_merged_into_id'), 'customers', ['merged_into_id'], unique=False)
    op.create_table(
        'customer_tokens',
        sa.Column('token_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('customer_id', sa.UUID(), nullable=False),
        sa.Column('api_key_id', sa.UUID(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['api_key_id'], ['api_keys.id'], name=op.f('fk_customer_tokens_api_key_id_api_keys')
        ),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'], name=op.f('fk_customer_tokens_customer_id_customers')
        ),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_customer_tokens')),
    )
    op.create_index(op.f('ix_customer_tokens_customer_id'), 'customer_tokens', ['customer_id'], unique=False)
    op.create_index(op.f('ix_customer_tokens_expires_at'), 'customer_tokens', ['expires_at'], unique=False)


def _customers_down() -> None:
    op.drop_index(op.f('ix_customer_tokens_expires_at'), table_name='customer_tokens')
    op.drop_index(op.f('ix_customer_tokens_customer_id'), table_name='customer_tokens')
    op.drop_table('customer_tokens')
    op.drop_index(op.f('ix_customers_merged_into_id'), table_name='customers')
    op.drop_table('customers')


# ---- orders ------------------------------------------------------------------------------


def _orders_up() -> None:
    op.create_table('payment_test_authorizations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=400), nullable=False),
    sa.Column('token', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('captured', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('released', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('refunded', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('authorized','declined')", name=op.f('ck_payment_test_authorizations_status_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_test_authorizations_amount_positive')),
    sa.CheckConstraint('captured + released <= amount', name=op.f('ck_payment_test_authorizations_captured_within_amount')),
    sa.CheckConstraint('captured >= 0 AND released >= 0 AND refunded >= 0', name=op.f('ck_payment_test_authorizations_sums_not_negative')),
    sa.CheckConstraint('refunded <= captured', name=op.f('ck_payment_test_authorizations_refunded_within_captured')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_test_authorizations')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_test_authorizations_idempotency_key'))
    )
    op.create_table('carts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('location_code', sa.String(length=40), nullable=True),
    sa.Column('codes', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=True),
    sa.Column('merged_into_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open','ordered','expired','merged')", name=op.f('ck_carts_status_known')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_carts_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carts'))
    )
    op.create_index('ix_carts_open_expiry', 'carts', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_carts_customer', 'carts', ['customer_id'], unique=False)
    op.create_index('uq_carts_open_customer', 'carts', ['customer_id'], unique=True, postgresql_where=sa.text("status = 'open' AND customer_id IS NOT NULL"))
    op.create_table('orders',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('store_code', sa.String(length=40), nullable=True),
    sa.Column('api_key_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('cart_id', sa.UUID(), nullable=True),
    sa.Column('fulfilment', sa.String(length=10), nullable=False),
    sa.Column('pickup_location_code', sa.String(length=40), nullable=True),
    sa.Column('delivery_address', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('discount_total', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('codes', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('pricing', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reservation_ref', sa.String(length=160), nullable=False),
    sa.Column('payment_key', sa.String(length=400), nullable=False),
    sa.Column('open_holds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("(fulfilment = 'delivery') = (delivery_address IS NOT NULL)", name=op.f('ck_orders_delivery_has_address')),
    sa.CheckConstraint("(fulfilment = 'pickup') = (pickup_location_code IS NOT NULL)", name=op.f('ck_orders_pickup_has_location')),
    sa.CheckConstraint("fulfilment IN ('delivery','pickup')", name=op.f('ck_orders_fulfilment_known')),
    sa.CheckConstraint("status IN ('placed','on_hold','released_to_fulfilment','partially_fulfilled','fulfilled','completed','cancelled')", name=op.f('ck_orders_status_known')),
    sa.CheckConstraint('total >= 0 AND subtotal >= 0 AND discount_total >= 0', name=op.f('ck_orders_amounts_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_orders_number')),
    sa.UniqueConstraint('payment_key', name=op.f('uq_orders_payment_key'))
    )
    op.create_index('ix_orders_channel_placed', 'orders', ['channel', 'placed_at', 'id'], unique=False)
    op.create_index('ix_orders_customer_placed', 'orders', ['customer_id', 'placed_at', 'id'], unique=False)
    op.create_index('ix_orders_placed', 'orders', ['placed_at', 'id'], unique=False)
    op.create_index('ix_orders_status_placed', 'orders', ['status', 'placed_at', 'id'], unique=False)
    op.create_index('ix_orders_store_placed', 'orders', ['store_code', 'placed_at', 'id'], unique=False)
    op.create_table('payment_test_operations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=400), nullable=False),
    sa.Column('authorization_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('capture','void','refund')", name=op.f('ck_payment_test_operations_kind_known')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_payment_test_operations_amount_not_negative')),
    sa.ForeignKeyConstraint(['authorization_id'], ['payment_test_authorizations.id'], name=op.f('fk_payment_test_operations_authorization_id_payment_test_authorizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_test_operations')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_test_operations_idempotency_key'))
    )
    op.create_index(op.f('ix_payment_test_operations_authorization_id'), 'payment_test_operations', ['authorization_id'], unique=False)
    op.create_table('cart_lines',
    sa.Column('cart_id', sa.UUID(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_cart_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['cart_id'], ['carts.id'], name=op.f('fk_cart_lines_cart_id_carts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cart_id', 'sku', name=op.f('pk_cart_lines'))
    )
    op.create_table('order_holds',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_by', sa.UUID(), nullable=False),
    sa.Column('placed_channel', sa.String(length=20), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.UUID(), nullable=True),
    sa.Column('lifted_channel', sa.String(length=20), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lift_note', sa.Text(), nullable=True),
    sa.CheckConstraint("type IN ('payment_review','fraud_review','address_check','manual')", name=op.f('ck_order_holds_type_known')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_holds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_holds'))
    )
    op.create_index('ix_order_holds_order', 'order_holds', ['order_id', 'placed_at'], unique=False)
    op.create_table('order_lines',
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('line_no', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('line_total', sa.BigInteger(), nullable=False),
    sa.Column('pricing', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('location_code', sa.String(length=40), nullable=False),
    sa.Column('cancelled_quantity', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('fulfilled_quantity', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('cancelled_quantity + fulfilled_quantity <= quantity', name=op.f('ck_order_lines_progress_within_quantity')),
    sa.CheckConstraint('cancelled_quantity >= 0 AND fulfilled_quantity >= 0', name=op.f('ck_order_lines_progress_not_negative')),
    sa.CheckConstraint('line_total >= 0', name=op.f('ck_order_lines_total_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'line_no', name=op.f('pk_order_lines'))
    )
    op.create_table('order_tenders',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('authorization_id', sa.String(length=100), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('captured', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('released', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('refunded', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('gateway_captured', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('gateway_released', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("kind IN ('card','cash','cash_on_delivery','card_on_delivery','loyalty_points')", name=op.f('ck_order_tenders_kind_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_order_tenders_amount_positive')),
    sa.CheckConstraint('captured >= 0 AND released >= 0 AND refunded >= 0 AND captured + released <= amount AND refunded <= captured', name=op.f('ck_order_tenders_amounts_consistent')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_tenders_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_tenders'))
    )
    op.create_index(op.f('ix_order_tenders_order_id'), 'order_tenders', ['order_id'], unique=False)
    op.create_table('order_timeline',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=True),
    sa.Column('actor_key_id', sa.UUID(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_timeline_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_timeline'))
    )
    op.create_index('ix_order_timeline_order', 'order_timeline', ['order_id', 'id'], unique=False)


def _orders_down() -> None:
    op.drop_index('ix_order_timeline_order', table_name='order_timeline')
    op.drop_table('order_timeline')
    op.drop_index(op.f('ix_order_tenders_order_id'), table_name='order_tenders')
    op.drop_table('order_tenders')
    op.drop_table('order_lines')
    op.drop_index('ix_order_holds_order', table_name='order_holds')
    op.drop_table('order_holds')
    op.drop_table('cart_lines')
    op.drop_index(op.f('ix_payment_test_operations_authorization_id'), table_name='payment_test_operations')
    op.drop_table('payment_test_operations')
    op.drop_index('ix_orders_store_placed', table_name='orders')
    op.drop_index('ix_orders_status_placed', table_name='orders')
    op.drop_index('ix_orders_placed', table_name='orders')
    op.drop_index('ix_orders_customer_placed', table_name='orders')
    op.drop_index('ix_orders_channel_placed', table_name='orders')
    op.drop_table('orders')
    op.drop_index('uq_carts_open_customer', table_name='carts', postgresql_where=sa.text("status = 'open' AND customer_id IS NOT NULL"))
    op.drop_index('ix_carts_open_expiry', table_name='carts', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_carts_customer', table_name='carts')
    op.drop_table('carts')
    op.drop_table('payment_test_authorizations')
