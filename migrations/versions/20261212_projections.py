"""the supply plan keeps a window's projected weeks per manager and spec while what they were read from holds

Revision ID: projections
Revises: spec_totals
Create Date: 2026-12-12 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision = 'projections'
down_revision = 'spec_totals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'projection_basis',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('weeks', sa.String(length=32), nullable=False),
        sa.Column('basis_sha256', sa.String(length=64), nullable=False),
        sa.Column('built_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_projection_basis_company_id_company')),
        sa.PrimaryKeyConstraint('company_id', 'weeks', name=op.f('pk_projection_basis')),
    )
    op.create_table(
        'projection_line',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('weeks', sa.String(length=32), nullable=False),
        sa.Column('manager_id', sa.String(length=64), nullable=False),
        sa.Column('brand_code', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['company_id', 'weeks'], ['projection_basis.company_id', 'projection_basis.weeks'],
                                name=op.f('fk_projection_line_company_id_weeks_projection_basis')),
        sa.PrimaryKeyConstraint('company_id', 'weeks', 'manager_id', 'brand_code', name=op.f('pk_projection_line')),
    )


def downgrade() -> None:
    op.drop_table('projection_line')
    op.drop_table('projection_basis')
