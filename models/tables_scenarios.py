"""Tables of what-if allocations: a scenario and its rows, kept apart from runs so a scenario can never be
published, never counts toward a cycle's one active run, and has ids no run route answers."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, String
from sqlmodel import Field, SQLModel

from allocation.vocabulary import Priority, Reason, RunState
from models.leases import Leased
from models.tables import _in
from models.types import JSONType, UTCDateTime, utcnow


class Scenario(Leased, table=True):
    """The allocation of a closed or published cycle's frozen demand under other supply and/or caps; executed
    under a lease like a run (models.leases, executor.kinds)."""

    __tablename__ = "scenario"
    __table_args__ = (CheckConstraint(_in("status", RunState), name="status"),
                      CheckConstraint(_in("priority", Priority), name="priority"))
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    name: str = Field(sa_type=String(200))
    status: str = Field(default=RunState.QUEUED, sa_type=String(16))
    # what it put first, as a run records it (the policy's when the request named none)
    priority: str = Field(default=Priority.VOLUME, sa_type=String(16),
                          sa_column_kwargs={"server_default": Priority.VOLUME.value})
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True)
    finished_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # the close whose frozen demand it allocates (the cycle's closed_at when it was created)
    cycle_closed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True)
    supply: list = Field(default_factory=list, sa_type=JSONType)   # overrides as sent: [{brand_code, quantity}]
    caps: list = Field(default_factory=list, sa_type=JSONType)     # overrides as sent: [{retailer_id, cap, weight}]
    totals: dict = Field(default_factory=dict, sa_type=JSONType)
    timings: dict = Field(default_factory=dict, sa_type=JSONType)
    certificate: dict = Field(default_factory=dict, sa_type=JSONType)
    excluded_orders: list = Field(default_factory=list, sa_type=JSONType)
    # the comparison with compared_run_id, recomputed when the run to compare with changes
    comparison: Optional[dict] = Field(default=None, sa_type=JSONType)
    compared_run_id: Optional[int] = Field(default=None)
    error: Optional[str] = Field(default=None, sa_type=String(2000))


class ScenarioAllocation(SQLModel, table=True):
    """One line of a scenario's result (written by the scenario alone, in one transaction, like a run's rows)."""

    __tablename__ = "scenario_allocation"
    __table_args__ = (
        CheckConstraint("allocated >= 0 AND allocated <= demanded", name="allocated"),
        CheckConstraint(_in("reason", Reason), name="reason"),
    )
    scenario_id: int = Field(primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    demanded: int
    allocated: int
    reason: str = Field(sa_type=String(16))
