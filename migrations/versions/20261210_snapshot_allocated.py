"""demand snapshots also keep the published allocation per manager and spec

Revision ID: snapshot_allocated
Revises: allocation_priority
Create Date: 2026-12-10 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'snapshot_allocated'
down_revision = 'allocation_priority'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing snapshots were built under another rule (their digest says so) and are rebuilt on first use
    with op.batch_alter_table('demand_snapshot_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocated', sa.BigInteger(), server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('demand_snapshot_line', schema=None) as batch_op:
        batch_op.drop_column('allocated')
