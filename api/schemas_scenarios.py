"""Request and response models of what-if allocations (scenarios); unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from allocation.vocabulary import Priority
from api.schemas import CleanStr, In
from api.schemas_caps import CapIn, SupplyLineIn
from api.schemas_runs import AllocationOut, CertificateOut


class ScenarioIn(In):
    """Other supply and/or caps for a closed or published cycle's frozen demand; the cycle's own values stand for
    every spec and retailer not listed. A cap is a total's upper limit only: a floor, a minimum or a per-spec
    field is refused (总量浮动管理)."""

    name: Annotated[CleanStr, Field(min_length=1, max_length=200)]
    supply: Annotated[list[SupplyLineIn], Field(max_length=100_000)] = Field(
        default_factory=list, description="replaces these specs' supply")
    caps: Annotated[list[CapIn], Field(max_length=1_000_000)] = Field(
        default_factory=list, description="replaces these retailers' caps (and weights, where given)")
    priority: Priority | None = Field(None, description=(
        "volume or choice, as for a run (DOMAIN.md \"Volume first, or choice first\"); default: the allocation "
        "policy's"))


class ScenarioCreated(BaseModel):
    scenario_id: str
    status: str
    cycle_id: str
    priority: str


class ShortLines(BaseModel):
    no_supply: int
    cap: int
    supply: int


class SpecShortfall(BaseModel):
    brand_code: str
    run: int = Field(description="demanded − allocated in the run")
    scenario: int = Field(description="demanded − allocated in the scenario")


class Comparison(BaseModel):
    volume_change: int = Field(description="scenario − run, cartons")
    fill_ratio_change: float | None = Field(description="scenario − run, fill ratio = Σ allocated / Σ demanded over "
                                                        "lines with demand > 0")
    short_lines_by_reason: dict[str, ShortLines] = Field(description='{"run": {...}, "scenario": {...}}')
    shortfall_by_spec: list[SpecShortfall] = Field(description="every demanded spec, by brand_code")
    retailers_changed: int = Field(description="retailers with a line allocated differently (the rows are in "
                                               "/allocations?changed=true)")


class ScenarioOut(BaseModel):
    id: str
    scenario_id: str
    cycle_id: str
    name: str
    status: str = Field(description="queued, running, succeeded or failed; a scenario is never published")
    priority: str = Field(description="what it put first: volume or choice")
    created_at: datetime
    created_by: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    supply: list[dict[str, Any]] = Field(description="the supply overrides as sent")
    caps: list[dict[str, Any]] = Field(description="the cap overrides as sent (weight null: the cycle's)")
    totals: dict[str, Any] = Field(default_factory=dict, description="as a run's")
    timings: dict[str, Any] = Field(default_factory=dict, description="as a run's, plus compare_s")
    certificate: CertificateOut | dict = Field(default_factory=dict, description="the engine's, for the modified instance")
    excluded_orders: list[dict[str, Any]] = Field(default_factory=list)
    compared_run_id: str | None = Field(None, description="the run compared with: the cycle's published run, else its "
                                                          "latest succeeded run of the same close")
    comparison: Comparison | None = Field(None, description="null while not succeeded, or with no run to compare with")
    error: str | None = None
    error_code: str | None = Field(None, description="executor_lost when its executor stopped (lease expired)")


class ScenarioAllocationOut(AllocationOut):
    run_allocated: int | None = Field(description="the compared run's allocation of the same line (null: no run)")



class FillRatios(BaseModel):
    scenario_id: str
    compared_run_id: str | None
    buckets: list[str] = Field(description="0, each tenth short of full, 100 %")
    scenario: list[int] = Field(description="the scenario's lines with demand > 0 per bucket")
    run: list[int] | None = Field(description="the compared run's lines per bucket (null: no run to compare with)")
