"""Allocation runs, the rows each writes, and the publications the distribution center pulls."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Index, String, text
from sqlmodel import Field, SQLModel

from allocation.vocabulary import ACTIVE_RUN_STATES, Priority, Reason, RunState
from models.leases import Leased
from models.tables import _in, _ts
from models.types import JSONType


class AllocationRun(Leased, table=True):
    """A run of the engine on a closed cycle's snapshot; executed under a lease (models.leases)."""

    __tablename__ = "allocation_run"
    __table_args__ = (
        CheckConstraint(_in("status", RunState), name="status"),
        CheckConstraint(_in("priority", Priority), name="priority"),
        # at most one run per cycle is queued or running at a time
        Index(
            "uq_allocation_run_active", "cycle_id", unique=True,
            sqlite_where=text(_in("status", ACTIVE_RUN_STATES)),
            postgresql_where=text(_in("status", ACTIVE_RUN_STATES)),
        ),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    status: str = Field(default=RunState.QUEUED, sa_type=String(16))
    # what the run put first (DOMAIN.md "Volume first, or choice first"); the policy's when the request named none
    priority: str = Field(default=Priority.VOLUME, sa_type=String(16),
                          sa_column_kwargs={"server_default": Priority.VOLUME.value})
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = _ts()
    started_at: Optional[datetime] = _ts(nullable=True)
    finished_at: Optional[datetime] = _ts(nullable=True)
    # the cycle's closed_at when the run was started: a run of an earlier close is stale and cannot be published
    cycle_closed_at: Optional[datetime] = _ts(nullable=True)
    totals: dict = Field(default_factory=dict, sa_type=JSONType)
    timings: dict = Field(default_factory=dict, sa_type=JSONType)
    certificate: dict = Field(default_factory=dict, sa_type=JSONType)
    excluded_orders: list = Field(default_factory=list, sa_type=JSONType)
    error: Optional[str] = Field(default=None, sa_type=String(2000))


class Allocation(SQLModel, table=True):
    """One line of a run's result.

    No foreign key to allocation_run: the only writer is the run itself, inserting under its own row lock in one
    transaction, and a per-row foreign-key trigger would add about a fifth to writing a city's half million rows.
    """

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("allocated >= 0 AND allocated <= demanded", name="allocated"),
        CheckConstraint(_in("reason", Reason), name="reason"),
    )
    run_id: int = Field(primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    demanded: int
    allocated: int
    reason: str = Field(sa_type=String(16))


class Publication(SQLModel, table=True):
    """The distribution center's feed: id order is publish order, and one per cycle."""

    __tablename__ = "publication"
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", unique=True)
    run_id: int = Field(foreign_key="allocation_run.id", unique=True)
    published_at: datetime = _ts()
    published_by: int = Field(foreign_key="app_user.id")
