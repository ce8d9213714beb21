"""compliance keeps a set of final cycles' sums per manager and their clusters while what they were read from holds

Revision ID: compliance_kept
Revises: projections
Create Date: 2026-12-13 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from models.types import UTCDateTime

revision = 'compliance_kept'
down_revision = 'projections'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'compliance_kept',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('cycles_sha256', sa.String(length=64), nullable=False),
        sa.Column('basis_sha256', sa.String(length=64), nullable=False),
        sa.Column('sums', JSON, nullable=False),
        sa.Column('clusters', JSON, nullable=False),
        sa.Column('built_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_compliance_kept_company_id_company')),
        sa.PrimaryKeyConstraint('company_id', 'cycles_sha256', name=op.f('pk_compliance_kept')),
    )


def downgrade() -> None:
    op.drop_table('compliance_kept')
