"""run leases: who executes a run, until when, and a machine-readable failure code

Revision ID: run_leases
Revises: compliance_policy
Create Date: 2026-12-01 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = 'run_leases'
down_revision = 'compliance_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error_code', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.drop_column('error_code')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_owner')
