"""compliance policy: versioned cluster thresholds (min_cluster, min_lines)

Revision ID: compliance_policy
Revises: supply_plan
Create Date: 2026-12-06 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import models.types

revision = 'compliance_policy'
down_revision = 'supply_plan'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compliance_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('version >= 1', name=op.f('ck_compliance_policy_version')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_compliance_policy_company_id_company')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_compliance_policy_created_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_policy')),
    sa.UniqueConstraint('company_id', 'version', name=op.f('uq_compliance_policy_company_id_version'))
    )


def downgrade() -> None:
    op.drop_table('compliance_policy')
