"""loyalty: cards (accounts), points ledger, earn lots, earning lines, draws, reversals

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('loyalty_reversals',
    sa.Column('source_id', sa.String(length=120), nullable=False),
    sa.Column('event_type', sa.String(length=80), nullable=False),
    sa.Column('payload_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_id', 'event_type', name=op.f('pk_loyalty_reversals'))
    )
    op.create_table('loyalty_accounts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('card_number', sa.String(length=13), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('available', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('pending', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('spend_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('merged_into_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('available >= 0', name=op.f('ck_loyalty_accounts_available_not_negative')),
    sa.CheckConstraint('merged_into_id <> id', name=op.f('ck_loyalty_accounts_not_merged_into_self')),
    sa.CheckConstraint('pending >= 0', name=op.f('ck_loyalty_accounts_pending_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_loyalty_accounts_customer_id_customers')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['loyalty_accounts.id'], name=op.f('fk_loyalty_accounts_merged_into_id_loyalty_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_accounts')),
    sa.UniqueConstraint('card_number', name=op.f('uq_loyalty_accounts_card_number'))
    )
    op.create_index('ix_loyalty_accounts_merged_into_id', 'loyalty_accounts', ['merged_into_id'], unique=False)
    op.create_index('uq_loyalty_accounts_live_customer', 'loyalty_accounts', ['customer_id'], unique=True, postgresql_where=sa.text('merged_into_id IS NULL'))
    op.create_table('loyalty_reversal_lines',
    sa.Column('source_id', sa.String(length=120), nullable=False),
    sa.Column('event_type', sa.String(length=80), nullable=False),
    sa.Column('line_id', sa.String(length=120), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('reversed_points', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('shortfall_points', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('refunded_minor > 0', name=op.f('ck_loyalty_reversal_lines_refunded_positive')),
    sa.ForeignKeyConstraint(['source_id', 'event_type'], ['loyalty_reversals.source_id', 'loyalty_reversals.event_type'], name=op.f('fk_loyalty_reversal_lines_source_id_loyalty_reversals')),
    sa.PrimaryKeyConstraint('source_id', 'event_type', 'line_id', name=op.f('pk_loyalty_reversal_lines'))
    )
    op.create_index('ix_loyalty_reversal_lines_waiting', 'loyalty_reversal_lines', ['line_id'], unique=False, postgresql_where=sa.text('applied_at IS NULL'))
    op.create_table('loyalty_ledger',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('earn','redeem','restore','reverse','expire','adjust','merge')", name=op.f('ck_loyalty_ledger_kind_known')),
    sa.CheckConstraint('points <> 0', name=op.f('ck_loyalty_ledger_points_not_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['loyalty_accounts.id'], name=op.f('fk_loyalty_ledger_account_id_loyalty_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_ledger')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_loyalty_ledger_dedupe_key'))
    )
    op.create_index('ix_loyalty_ledger_account_id_id', 'loyalty_ledger', ['account_id', 'id'], unique=False)
    op.create_table('loyalty_lots',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('source_id', sa.String(length=120), nullable=False),
    sa.Column('event_type', sa.String(length=80), nullable=False),
    sa.Column('payload_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('order_id', sa.String(length=120), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('spend_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('earn','adjust')", name=op.f('ck_loyalty_lots_source_known')),
    sa.CheckConstraint("status IN ('pending','available')", name=op.f('ck_loyalty_lots_status_known')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_loyalty_lots_points_not_negative')),
    sa.CheckConstraint('remaining >= 0 AND remaining <= points', name=op.f('ck_loyalty_lots_remaining_within_points')),
    sa.CheckConstraint('spend_minor >= 0', name=op.f('ck_loyalty_lots_spend_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['loyalty_accounts.id'], name=op.f('fk_loyalty_lots_account_id_loyalty_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_lots'))
    )
    op.create_index('ix_loyalty_lots_account_id_status_expires_at', 'loyalty_lots', ['account_id', 'status', 'expires_at'], unique=False)
    op.create_index('ix_loyalty_lots_expiry', 'loyalty_lots', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'available' AND remaining > 0"))
    op.create_index('ix_loyalty_lots_release', 'loyalty_lots', ['available_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_loyalty_lots_spend', 'loyalty_lots', ['account_id', 'earned_at'], unique=False, postgresql_where=sa.text('spend_minor > 0'))
    op.create_index('uq_loyalty_lots_earning', 'loyalty_lots', ['source_id', 'event_type'], unique=True)
    op.create_table('loyalty_draws',
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('lot_id', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('restored', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_loyalty_draws_points_positive')),
    sa.CheckConstraint('restored >= 0 AND restored <= points', name=op.f('ck_loyalty_draws_restored_within_points')),
    sa.ForeignKeyConstraint(['entry_id'], ['loyalty_ledger.id'], name=op.f('fk_loyalty_draws_entry_id_loyalty_ledger')),
    sa.ForeignKeyConstraint(['lot_id'], ['loyalty_lots.id'], name=op.f('fk_loyalty_draws_lot_id_loyalty_lots')),
    sa.PrimaryKeyConstraint('entry_id', 'lot_id', name=op.f('pk_loyalty_draws'))
    )
    op.create_index(op.f('ix_loyalty_draws_lot_id'), 'loyalty_draws', ['lot_id'], unique=False)
    op.create_table('loyalty_earning_lines',
    sa.Column('lot_id', sa.BigInteger(), nullable=False),
    sa.Column('line_id', sa.String(length=120), nullable=False),
    sa.Column('net_paid_minor', sa.BigInteger(), nullable=False),
    sa.Column('earnable_minor', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('reversed_points', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('net_paid_minor >= 0 AND refunded_minor >= 0', name=op.f('ck_loyalty_earning_lines_amounts_not_negative')),
    sa.CheckConstraint('reversed_points >= 0 AND reversed_points <= points', name=op.f('ck_loyalty_earning_lines_reversed_within_points')),
    sa.ForeignKeyConstraint(['lot_id'], ['loyalty_lots.id'], name=op.f('fk_loyalty_earning_lines_lot_id_loyalty_lots')),
    sa.PrimaryKeyConstraint('lot_id', 'line_id', name=op.f('pk_loyalty_earning_lines'))
    )
    op.create_index('ix_loyalty_earning_lines_line_id', 'loyalty_earning_lines', ['line_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_loyalty_earning_lines_line_id', table_name='loyalty_earning_lines')
    op.drop_table('loyalty_earning_lines')
    op.drop_index(op.f('ix_loyalty_draws_lot_id'), table_name='loyalty_draws')
    op.drop_table('loyalty_draws')
    op.drop_index('uq_loyalty_lots_earning', table_name='loyalty_lots')
    op.drop_index('ix_loyalty_lots_spend', table_name='loyalty_lots', postgresql_where=sa.text('spend_minor > 0'))
    op.drop_index('ix_loyalty_lots_release', table_name='loyalty_lots', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_loyalty_lots_expiry', table_name='loyalty_lots', postgresql_where=sa.text("status = 'available' AND remaining > 0"))
    op.drop_index('ix_loyalty_lots_account_id_status_expires_at', table_name='loyalty_lots')
    op.drop_table('loyalty_lots')
    op.drop_index('ix_loyalty_ledger_account_id_id', table_name='loyalty_ledger')
    op.drop_table('loyalty_ledger')
    op.drop_index('ix_loyalty_reversal_lines_waiting', table_name='loyalty_reversal_lines', postgresql_where=sa.text('applied_at IS NULL'))
    op.drop_table('loyalty_reversal_lines')
    op.drop_index('uq_loyalty_accounts_live_customer', table_name='loyalty_accounts', postgresql_where=sa.text('merged_into_id IS NULL'))
    op.drop_index('ix_loyalty_accounts_merged_into_id', table_name='loyalty_accounts')
    op.drop_table('loyalty_accounts')
    op.drop_table('loyalty_reversals')
