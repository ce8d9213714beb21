"""the task queue's schema (procrastinate) on PostgreSQL, for RUNS_EXECUTOR=queue; nothing on SQLite

The schema is the one shipped with the procrastinate version pinned in pyproject.toml. Upgrading procrastinate
past a schema change takes a new revision that applies its migration files (procrastinate/sql/migrations).

Revision ID: queue_schema
Revises: run_leases
Create Date: 2026-12-01 09:00:01
"""
from __future__ import annotations

from alembic import op

revision = 'queue_schema'
down_revision = 'run_leases'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from importlib.resources import files

    schema = (files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    # the driver's own execute: several statements, dollar-quoted bodies and % signs pass through untouched
    bind.connection.driver_connection.execute(schema)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    raw = bind.connection.driver_connection
    for (table,) in raw.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'procrastinate%'").fetchall():
        raw.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    for (sig,) in raw.execute("SELECT oid::regprocedure::text FROM pg_proc WHERE proname LIKE 'procrastinate%'"
                              ).fetchall():
        raw.execute(f"DROP FUNCTION IF EXISTS {sig} CASCADE")
    for (typ,) in raw.execute("SELECT typname FROM pg_type WHERE typname LIKE 'procrastinate%' AND typtype IN "
                              "('e', 'c')").fetchall():
        raw.execute(f'DROP TYPE IF EXISTS "{typ}" CASCADE')
