"""fulfillment: sourcing rule versions and decisions, fulfillment orders and lines, events,
pick lists, parcels, bins, carrier events

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bins',
    sa.Column('location_code', sa.String(length=40), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('bin_code', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('location_code', 'sku', name=op.f('pk_bins'))
    )
    op.create_table('carrier_events',
    sa.Column('carrier', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=120), nullable=False),
    sa.Column('tracking_number', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('carrier', 'event_id', name=op.f('pk_carrier_events'))
    )
    op.create_table('fulfillment_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('fulfillment_order_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('actor_key_id', sa.UUID(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_events'))
    )
    op.create_index('ix_fulfillment_events_order', 'fulfillment_events', ['order_id', 'id'], unique=False)
    op.create_table('fulfillment_orders',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('order_number', sa.String(length=12), nullable=False),
    sa.Column('location_code', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=15), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('deliver_to', sa.String(length=40), nullable=True),
    sa.Column('feeds_id', sa.UUID(), nullable=True),
    sa.Column('transfer_id', sa.UUID(), nullable=True),
    sa.Column('units', sa.BigInteger(), nullable=False),
    sa.Column('decision_id', sa.BigInteger(), nullable=True),
    sa.Column('promised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pickup_slot_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('respond_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pick_list_id', sa.UUID(), nullable=True),
    sa.Column('reject_reason', sa.String(length=30), nullable=True),
    sa.Column('code_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('code_salt', sa.LargeBinary(length=16), nullable=True),
    sa.Column('code_attempts', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(type = 'ship_to_store') = (deliver_to IS NOT NULL)", name=op.f('ck_fulfillment_orders_ship_to_store_has_store')),
    sa.CheckConstraint("status IN ('awaiting_transfer','created','accepted','assigned','picked','packed','shipped','delivered','ready_for_pickup','collected','expired','rejected','cancelled')", name=op.f('ck_fulfillment_orders_status_known')),
    sa.CheckConstraint("type IN ('delivery','pickup','ship_to_store')", name=op.f('ck_fulfillment_orders_type_known')),
    sa.CheckConstraint('code_attempts >= 0', name=op.f('ck_fulfillment_orders_code_attempts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_orders')),
    sa.UniqueConstraint('number', name='uq_fulfillment_orders_number')
    )
    op.create_index('ix_fulfillment_orders_feeds', 'fulfillment_orders', ['feeds_id'], unique=False, postgresql_where=sa.text('feeds_id IS NOT NULL'))
    op.create_index('ix_fulfillment_orders_location_day', 'fulfillment_orders', ['location_code', 'created_at'], unique=False)
    op.create_index('ix_fulfillment_orders_location_status', 'fulfillment_orders', ['location_code', 'status', 'created_at', 'id'], unique=False)
    op.create_index('ix_fulfillment_orders_open_queue', 'fulfillment_orders', ['location_code', 'promised_at', 'created_at'], unique=False, postgresql_where=sa.text("status IN ('created','accepted')"))
    op.create_index('ix_fulfillment_orders_order', 'fulfillment_orders', ['order_id', 'created_at'], unique=False)
    op.create_index('ix_fulfillment_orders_pickup_expiry', 'fulfillment_orders', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'ready_for_pickup'"))
    op.create_index('ix_fulfillment_orders_respond_by', 'fulfillment_orders', ['respond_by'], unique=False, postgresql_where=sa.text("status = 'created'"))
    op.create_table('pick_lists',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('location_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('fulfillment_order_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmation', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("status IN ('open','confirmed')", name=op.f('ck_pick_lists_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pick_lists'))
    )
    op.create_index('ix_pick_lists_location_created', 'pick_lists', ['location_code', 'created_at'], unique=False)
    op.create_table('sourcing_decisions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('rules_version', sa.BigInteger(), nullable=True),
    sa.Column('fulfilment', sa.String(length=10), nullable=False),
    sa.Column('pickup_location_code', sa.String(length=40), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('excluded', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('plan', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attempts', sa.BigInteger(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("trigger IN ('placement','rejection','short_pick','timeout')", name=op.f('ck_sourcing_decisions_trigger_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sourcing_decisions'))
    )
    op.create_index('ix_sourcing_decisions_order', 'sourcing_decisions', ['order_id', 'id'], unique=False)
    op.create_index('ix_sourcing_decisions_placements', 'sourcing_decisions', ['id'], unique=False, postgresql_where=sa.text("trigger = 'placement'"))
    op.create_table('sourcing_rule_versions',
    sa.Column('version', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_sourcing_rule_versions'))
    )
    op.create_table('fulfillment_order_lines',
    sa.Column('fulfillment_order_id', sa.UUID(), nullable=False),
    sa.Column('line_id', sa.String(length=20), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('inbound_from', sa.String(length=40), nullable=True),
    sa.Column('holds', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('picked_quantity', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('short_quantity', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('picked_quantity + short_quantity <= quantity', name=op.f('ck_fulfillment_order_lines_progress_within_quantity')),
    sa.CheckConstraint('picked_quantity >= 0 AND short_quantity >= 0', name=op.f('ck_fulfillment_order_lines_progress_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_fulfillment_order_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['fulfillment_order_id'], ['fulfillment_orders.id'], name=op.f('fk_fulfillment_order_lines_fulfillment_order_id_fulfillment_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('fulfillment_order_id', 'line_id', name=op.f('pk_fulfillment_order_lines'))
    )
    op.create_table('parcels',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('fulfillment_order_id', sa.UUID(), nullable=False),
    sa.Column('carrier', sa.String(length=40), nullable=False),
    sa.Column('tracking_number', sa.String(length=80), nullable=False),
    sa.Column('contents', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('weight_grams', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['fulfillment_order_id'], ['fulfillment_orders.id'], name=op.f('fk_parcels_fulfillment_order_id_fulfillment_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcels')),
    sa.UniqueConstraint('carrier', 'tracking_number', name='uq_parcels_carrier_tracking')
    )
    op.create_index(op.f('ix_parcels_fulfillment_order_id'), 'parcels', ['fulfillment_order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_parcels_fulfillment_order_id'), table_name='parcels')
    op.drop_table('parcels')
    op.drop_table('fulfillment_order_lines')
    op.drop_table('sourcing_rule_versions')
    op.drop_index('ix_sourcing_decisions_placements', table_name='sourcing_decisions', postgresql_where=sa.text("trigger = 'placement'"))
    op.drop_index('ix_sourcing_decisions_order', table_name='sourcing_decisions')
    op.drop_table('sourcing_decisions')
    op.drop_index('ix_pick_lists_location_created', table_name='pick_lists')
    op.drop_table('pick_lists')
    op.drop_index('ix_fulfillment_orders_respond_by', table_name='fulfillment_orders', postgresql_where=sa.text("status = 'created'"))
    op.drop_index('ix_fulfillment_orders_pickup_expiry', table_name='fulfillment_orders', postgresql_where=sa.text("status = 'ready_for_pickup'"))
    op.drop_index('ix_fulfillment_orders_order', table_name='fulfillment_orders')
    op.drop_index('ix_fulfillment_orders_open_queue', table_name='fulfillment_orders', postgresql_where=sa.text("status IN ('created','accepted')"))
    op.drop_index('ix_fulfillment_orders_location_status', table_name='fulfillment_orders')
    op.drop_index('ix_fulfillment_orders_location_day', table_name='fulfillment_orders')
    op.drop_index('ix_fulfillment_orders_feeds', table_name='fulfillment_orders', postgresql_where=sa.text('feeds_id IS NOT NULL'))
    op.drop_table('fulfillment_orders')
    op.drop_index('ix_fulfillment_events_order', table_name='fulfillment_events')
    op.drop_table('fulfillment_events')
    op.drop_table('carrier_events')
    op.drop_table('bins')
