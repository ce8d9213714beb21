"""accuracy keeps a final cycle's ranked rows per manager while what they were scored from holds

Revision ID: accuracy_kept
Revises: compliance_kept
Create Date: 2026-12-14 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from models.types import UTCDateTime

revision = 'accuracy_kept'
down_revision = 'compliance_kept'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'accuracy_kept',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('basis_sha256', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
        sa.Column('built_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], name=op.f('fk_accuracy_kept_cycle_id_cycle')),
        sa.PrimaryKeyConstraint('cycle_id', name=op.f('pk_accuracy_kept')),
    )


def downgrade() -> None:
    op.drop_table('accuracy_kept')
