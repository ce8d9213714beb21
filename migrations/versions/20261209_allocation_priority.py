"""allocation priority: the company's allocation policy, and the priority each run and scenario used

Revision ID: allocation_priority
Revises: scenarios
Create Date: 2026-12-05 23:09:49.613901
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import models.types  # noqa: F401

revision = 'allocation_priority'
down_revision = 'scenarios'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allocation_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('version >= 1', name=op.f('ck_allocation_policy_version')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_allocation_policy_company_id_company')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_allocation_policy_created_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_policy')),
    sa.UniqueConstraint('company_id', 'version', name=op.f('uq_allocation_policy_company_id_version'))
    )
    # runs made before priorities existed put volume first
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=16), server_default='volume', nullable=False))
        batch_op.create_check_constraint(op.f('ck_allocation_run_priority'), "priority IN ('volume', 'choice')")
    with op.batch_alter_table('scenario', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=16), server_default='volume', nullable=False))
        batch_op.create_check_constraint(op.f('ck_scenario_priority'), "priority IN ('volume', 'choice')")


def downgrade() -> None:
    with op.batch_alter_table('scenario', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_scenario_priority'), type_='check')
        batch_op.drop_column('priority')
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_allocation_run_priority'), type_='check')
        batch_op.drop_column('priority')
    op.drop_table('allocation_policy')
