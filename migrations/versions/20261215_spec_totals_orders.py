"""spec totals are also kept for open cycles, on the cycle's orders' fingerprint

Revision ID: spec_totals_orders
Revises: accuracy_kept
Create Date: 2026-12-15 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'spec_totals_orders'
down_revision = 'accuracy_kept'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # kept totals without a fingerprint never match one, so they are summed again on first use
    with op.batch_alter_table('spec_total_basis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orders', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('spec_total_basis', schema=None) as batch_op:
        batch_op.drop_column('orders')
