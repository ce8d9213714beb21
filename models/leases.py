"""Leases on executed rows (allocation runs, and any other job kind): claim, renew, and fail the lost ones.

A row that a process executes carries a lease: the owner renews `lease_expires_at` while it works, and any
process fails an active row whose lease has expired. Times come from the database's clock on PostgreSQL, so
hosts whose clocks drift still agree. A job table needs the columns of `Leased` plus `id`, `status`,
`started_at`, `finished_at` and `error`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import String, and_, func, or_, select, update
from sqlmodel import Field, Session, SQLModel

from allocation.vocabulary import ACTIVE_RUN_STATES, RunState
from models.types import UTCDateTime, utcnow

EXECUTOR_LOST = "executor_lost"
LOST = ("the process executing it stopped or lost the database (its lease expired, or its queue worker stopped "
        "sending heartbeats); nothing was written; start it again")


class Leased(SQLModel):
    """The columns a leased row adds: who executes it, until when, and a machine-readable failure code."""

    lease_owner: Optional[str] = Field(default=None, sa_type=String(200))
    lease_expires_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True)
    error_code: Optional[str] = Field(default=None, sa_type=String(64))


def owner_name(role: str) -> str:
    """A lease owner's name: what holds it, on which host, in which process (shown nowhere but the row)."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def db_now(session: Session) -> datetime:
    """Now, by the database's clock where there is one server for all hosts (PostgreSQL), else this host's."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(select(func.clock_timestamp())).scalar_one()
    return utcnow()


def hold_queued(session: Session, table, job_id: int, lease_s: float) -> None:
    """Give a queued row a lease, so it is failed if the process meant to start it never does."""
    session.execute(update(table).where(table.id == job_id, table.status == RunState.QUEUED)
                    .values(lease_expires_at=db_now(session) + timedelta(seconds=lease_s)))


def claim(session: Session, table, job_id: int, owner: str, lease_s: float) -> bool:
    """Queued -> running under this owner's lease; False when the row is not queued any more."""
    now = db_now(session)
    return session.execute(update(table).where(table.id == job_id, table.status == RunState.QUEUED).values(
        status=RunState.RUNNING, started_at=now, lease_owner=owner,
        lease_expires_at=now + timedelta(seconds=lease_s))).rowcount == 1


def renew(session: Session, table, job_id: int, owner: str, lease_s: float) -> bool:
    """Extend the owner's lease; False when the row is no longer running under it (finished, or failed as lost)."""
    return session.execute(update(table).where(table.id == job_id, table.status == RunState.RUNNING,
                                               table.lease_owner == owner)
                           .values(lease_expires_at=db_now(session) + timedelta(seconds=lease_s))).rowcount == 1


def holds(session: Session, table, job_id: int, owner: str) -> bool:
    """Whether the row is running under this owner (checked under a row lock before writing results)."""
    row = session.execute(select(table.status, table.lease_owner).where(table.id == job_id).with_for_update()).first()
    return row is not None and row.status == RunState.RUNNING and row.lease_owner == owner


def was_lost(session: Session, table, job_id: int) -> bool:
    """Whether the row was failed as lost (or is gone), rather than finished by the process executing it."""
    row = session.execute(select(table.status, table.error_code).where(table.id == job_id)).first()
    return row is None or (row.status == RunState.FAILED and row.error_code == EXECUTOR_LOST)


def fail(session: Session, table, job_id: int, error: str, code: str | None = None,
         owner: str | None = None) -> bool:
    """Mark an active row failed with its reason (only while this owner holds it, when one is named)."""
    cond = [table.id == job_id, table.status.in_(ACTIVE_RUN_STATES)]
    if owner is not None:
        cond.append(table.lease_owner == owner)
    return session.execute(update(table).where(*cond).values(
        status=RunState.FAILED, error=error[:2000], error_code=code, finished_at=utcnow())).rowcount == 1


def fail_expired(session: Session, table) -> list[int]:
    """Fail every active row whose lease has expired (and a running one without a lease); returns their ids.

    A queued row without a lease waits in a queue that keeps it (the queue's stalled-job sweep covers it).
    """
    now = db_now(session)
    expired = or_(table.lease_expires_at < now, and_(table.status == RunState.RUNNING, table.lease_expires_at.is_(None)))
    ids = session.execute(select(table.id).where(table.status.in_(ACTIVE_RUN_STATES), expired)
                          .with_for_update(skip_locked=True)).scalars().all()
    if ids:
        session.execute(update(table).where(table.id.in_(ids), table.status.in_(ACTIVE_RUN_STATES)).values(
            status=RunState.FAILED, error=LOST, error_code=EXECUTOR_LOST, finished_at=now))
    return list(ids)
