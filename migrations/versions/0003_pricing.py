"""pricing: price zones, price history, promotions, codes, redemptions

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('price_zones',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_price_zones'))
    )
    op.create_table('promotions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('priority', sa.BigInteger(), nullable=False),
    sa.Column('combinable', sa.Boolean(), nullable=False),
    sa.Column('requires_code', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('percent_bp', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('fixed_price', sa.BigInteger(), nullable=False),
    sa.Column('buy_quantity', sa.BigInteger(), nullable=False),
    sa.Column('get_quantity', sa.BigInteger(), nullable=False),
    sa.Column('reward_percent_bp', sa.BigInteger(), nullable=False),
    sa.Column('tiers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('target_skus', postgresql.ARRAY(sa.String(length=64)), nullable=False),
    sa.Column('target_products', postgresql.ARRAY(sa.UUID()), nullable=False),
    sa.Column('target_categories', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('min_subtotal', sa.BigInteger(), nullable=False),
    sa.Column('min_quantity', sa.BigInteger(), nullable=False),
    sa.Column('loyalty_tiers', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('first_order_only', sa.Boolean(), nullable=False),
    sa.Column('channels', postgresql.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('usage_limit', sa.BigInteger(), nullable=True),
    sa.Column('usage_limit_per_customer', sa.BigInteger(), nullable=True),
    sa.Column('times_used', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('percent_off_items','amount_off_items','fixed_price_items','buy_x_get_y','order_percent_off','order_amount_off','spend_threshold','free_delivery')", name=op.f('ck_promotions_kind_known')),
    sa.CheckConstraint('amount >= 0 AND fixed_price >= 0 AND buy_quantity >= 0 AND get_quantity >= 0 AND min_subtotal >= 0 AND min_quantity >= 0', name=op.f('ck_promotions_parameters_not_negative')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at > starts_at', name=op.f('ck_promotions_window_not_empty')),
    sa.CheckConstraint('percent_bp BETWEEN 0 AND 10000', name=op.f('ck_promotions_percent_bp_range')),
    sa.CheckConstraint('reward_percent_bp BETWEEN 0 AND 10000', name=op.f('ck_promotions_reward_percent_bp_range')),
    sa.CheckConstraint('times_used >= 0', name=op.f('ck_promotions_times_used_not_negative')),
    sa.CheckConstraint('usage_limit IS NULL OR times_used <= usage_limit', name=op.f('ck_promotions_within_usage_limit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions'))
    )
    op.create_index('ix_promotions_automatic_live', 'promotions', ['starts_at'], unique=False, postgresql_where=sa.text('archived_at IS NULL AND requires_code = false'))
    op.create_index('ix_promotions_created', 'promotions', ['created_at', 'id'], unique=False)
    op.create_table('price_zone_areas',
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('postal_prefix', sa.String(length=20), server_default='', nullable=False),
    sa.Column('zone_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['zone_code'], ['price_zones.code'], name=op.f('fk_price_zone_areas_zone_code_price_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('country', 'postal_prefix', name=op.f('pk_price_zone_areas'))
    )
    op.create_index(op.f('ix_price_zone_areas_zone_code'), 'price_zone_areas', ['zone_code'], unique=False)
    op.create_table('price_zone_delivery_fees',
    sa.Column('zone_code', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_price_zone_delivery_fees_amount_not_negative')),
    sa.ForeignKeyConstraint(['zone_code'], ['price_zones.code'], name=op.f('fk_price_zone_delivery_fees_zone_code_price_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('zone_code', 'currency', name=op.f('pk_price_zone_delivery_fees'))
    )
    op.create_table('prices',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('zone_code', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('compare_at_amount', sa.BigInteger(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_prices_amount_not_negative')),
    sa.CheckConstraint('compare_at_amount IS NULL OR compare_at_amount > amount', name=op.f('ck_prices_compare_at_above_price')),
    sa.ForeignKeyConstraint(['zone_code'], ['price_zones.code'], name=op.f('fk_prices_zone_code_price_zones')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prices')),
    sa.UniqueConstraint('sku', 'zone_code', 'currency', 'valid_from', name=op.f('uq_prices_sku_zone_code_currency_valid_from'))
    )
    op.create_table('promotion_codes',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('promotion_id', sa.UUID(), nullable=False),
    sa.Column('max_uses', sa.BigInteger(), nullable=True),
    sa.Column('times_used', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('max_uses IS NULL OR max_uses > 0', name=op.f('ck_promotion_codes_max_uses_positive')),
    sa.CheckConstraint('max_uses IS NULL OR times_used <= max_uses', name=op.f('ck_promotion_codes_within_max_uses')),
    sa.CheckConstraint('times_used >= 0', name=op.f('ck_promotion_codes_times_used_not_negative')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_promotion_codes_promotion_id_promotions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_promotion_codes'))
    )
    op.create_index('ix_promotion_codes_promotion', 'promotion_codes', ['promotion_id', 'code'], unique=False)
    op.create_table('promotion_customer_uses',
    sa.Column('promotion_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('times_used', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint('times_used >= 0', name=op.f('ck_promotion_customer_uses_times_used_not_negative')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_promotion_customer_uses_promotion_id_promotions')),
    sa.PrimaryKeyConstraint('promotion_id', 'customer_id', name=op.f('pk_promotion_customer_uses'))
    )
    op.create_table('promotion_redemptions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('promotion_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('given_back_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['code'], ['promotion_codes.code'], name=op.f('fk_promotion_redemptions_code_promotion_codes')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_promotion_redemptions_promotion_id_promotions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_redemptions')),
    sa.UniqueConstraint('order_id', 'promotion_id', name=op.f('uq_promotion_redemptions_order_id_promotion_id'))
    )
    op.create_index('ix_promotion_redemptions_promotion', 'promotion_redemptions', ['promotion_id'], unique=False)
    # "default: one zone" — every retailer starts with it.
    op.execute("INSERT INTO price_zones (code, name) VALUES ('default', 'Default')")


def downgrade() -> None:
    op.drop_index('ix_promotion_redemptions_promotion', table_name='promotion_redemptions')
    op.drop_table('promotion_redemptions')
    op.drop_table('promotion_customer_uses')
    op.drop_index('ix_promotion_codes_promotion', table_name='promotion_codes')
    op.drop_table('promotion_codes')
    op.drop_table('prices')
    op.drop_table('price_zone_delivery_fees')
    op.drop_index(op.f('ix_price_zone_areas_zone_code'), table_name='price_zone_areas')
    op.drop_table('price_zone_areas')
    op.drop_index('ix_promotions_created', table_name='promotions')
    op.drop_index('ix_promotions_automatic_live', table_name='promotions', postgresql_where=sa.text('archived_at IS NULL AND requires_code = false'))
    op.drop_table('promotions')
    op.drop_table('price_zones')
