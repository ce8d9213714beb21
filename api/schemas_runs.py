"""Shapes of runs, published rows, the publications feed and the pick list, as warehouse systems read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from allocation.priority import AllocationPolicy
from allocation.vocabulary import CycleState, Priority, Reason, RunState
from api.schemas import In, Out


class RunIn(In):
    """What a run may name; an empty or missing body takes the company's allocation policy."""

    priority: Priority | None = Field(None, description=(
        "volume or choice (DOMAIN.md \"Volume first, or choice first\"); default: the allocation policy's"))


class RunCreated(BaseModel):
    run_id: str
    status: RunState
    cycle_id: str
    priority: str


class CertificateOut(BaseModel):
    """The engine's independent checks; extra figures the engine reports are passed through."""

    model_config = {"extra": "allow"}
    volume: int | None = Field(None, description="cartons allocated")
    max_volume: int | None = Field(None, description="the most cartons any feasible allocation could give")
    fairness_violations: int | None = Field(None, description="carton moves that would raise a lower fill ratio")
    volume_policy_max: int | None = Field(None, description=(
        "the most cartons the volume priority gives on the same inputs (= max_volume)"))
    volume_cost: float | None = Field(None, description=(
        "1 - volume / volume_policy_max: the share of volume the run's priority gave up (0 for volume)"))


class RunOut(BaseModel):
    id: str
    run_id: str
    cycle_id: str
    status: RunState = Field(description="queued, running, succeeded or failed")
    priority: Priority = Field(description="what the run put first: volume or choice")
    created_at: datetime
    created_by: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    totals: dict[str, Any] = Field(default_factory=dict, description=(
        "lines, retailers, specs, demanded, allocated, short_lines by reason (no_supply, cap, supply), "
        "fill_ratio, excluded_orders, graph (the size of the flow network the engine solved)"))
    timings: dict[str, Any] = Field(default_factory=dict, description=(
        "seconds: queued_s, read_s, solve_s (validate and allocate), write_s, total_s, engine (its own split: "
        "validate_s, build_s, solve_s, certify_s, write_s, total_s)"))
    certificate: CertificateOut | dict = Field(default_factory=dict)
    excluded_orders: list[dict[str, Any]] = Field(default_factory=list, description=(
        "collected orders without approval of their current version at close: not in the run"))
    error: str | None = Field(None, description="why a failed run failed")
    error_code: str | None = Field(None, description=(
        "executor_lost when the process executing it stopped (its lease expired); null otherwise"))


class AllocationOut(Out):
    """One line of the allocations file."""

    retailer_id: str
    brand_code: str
    demanded: int
    allocated: int
    reason: Reason = Field(description="full, no_supply, cap or supply")


class PublishedOut(AllocationOut):
    route_id: str
    delivery_weekday: int
    value: str = Field(description="wholesale price × allocated, in yuan, an exact decimal string with 2 places",
                       examples=["1234.50"])


class PublishedRun(BaseModel):
    cycle_id: str
    run_id: str
    published_at: datetime
    status: CycleState = CycleState.PUBLISHED


class PublicationOut(BaseModel):
    publication_id: str
    cycle_id: str
    cycle_name: str
    run_id: str
    published_at: datetime


class PublicationsPage(BaseModel):
    items: list[PublicationOut]
    next_cursor: str | None = Field(None, description="the next page, or null when this is the last one")
    resume_cursor: str | None = Field(None, description=(
        "keep it and send it as `cursor` on the next pull to get only what was published since"))


class PickLineOut(BaseModel):
    brand_code: str
    name: str
    cartons: int = Field(description="条 to pick")
    cases: int = Field(description="whole 大箱 (250 条 each)")
    cartons_over: int = Field(description="条 left over after the whole 大箱")


class AllocationPolicyOut(Out):
    """One version of the company's allocation policy."""

    version: int
    params: AllocationPolicy = Field(description="the policy in force (the body of PUT /v1/allocation-policy)")
    created_at: datetime
    created_by: str | None
