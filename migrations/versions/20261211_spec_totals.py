"""a final cycle's cartons per spec (ordered, allocated), summed once per close and publication

Revision ID: spec_totals
Revises: snapshot_allocated
Create Date: 2026-12-11 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision = 'spec_totals'
down_revision = 'snapshot_allocated'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'spec_total_basis',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('built_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_spec_total_basis_cycle_id_cycle')),
        sa.PrimaryKeyConstraint('cycle_id', name=op.f('pk_spec_total_basis')),
    )
    op.create_table(
        'spec_total',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('brand_code', sa.String(length=64), nullable=False),
        sa.Column('demand', sa.BigInteger(), nullable=True),
        sa.Column('allocated', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['cycle_id'], ['spec_total_basis.cycle_id'],
                                name=op.f('fk_spec_total_cycle_id_spec_total_basis')),
        sa.PrimaryKeyConstraint('cycle_id', 'brand_code', name=op.f('pk_spec_total')),
    )


def downgrade() -> None:
    op.drop_table('spec_total')
    op.drop_table('spec_total_basis')
