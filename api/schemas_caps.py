"""Request and response models for cycles, supply, the cap policy, caps and cap adjustments (extra fields refused)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, model_validator

from allocation.cap_policy import CapPolicy
from allocation.vocabulary import CAP_MAX, AdjustmentState, CapSource, CycleState
from api.schemas import CleanStr, IsoDate, IsoDatetime, IdOut, In, Out, PolicyVersionOut
from models.cycles import cycle_status
from models.tables import Cycle

Id = Annotated[CleanStr, Field(min_length=1, max_length=64)]
# a number, or the decimal string answers show ("1.50"): above 0, at most 100, at most 2 decimals
WEIGHT_TEXT = r"^0*(100(\.0{1,2})?|[1-9][0-9]?(\.[0-9]{1,2})?|0?\.(0[1-9]|[1-9][0-9]?))$"
Weight = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2,
                                  description="fairness weight: > 0, at most 2 decimals; a higher weight is cut less"),
                   WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 100, "multipleOf": 0.01},
                                             {"type": "string", "pattern": WEIGHT_TEXT}]})]


class CycleIn(In):
    """A new ordering cycle; dates are days in the company's time zone."""

    name: Annotated[CleanStr, Field(min_length=1, max_length=200)]
    start_date: IsoDate
    end_date: IsoDate
    opens_at: IsoDatetime | None = Field(None, description="when orders open (ISO 8601 with offset); default now")

    @model_validator(mode="after")
    def _dates(self) -> CycleIn:
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if (self.end_date - self.start_date).days > 366:
            raise ValueError("a cycle spans at most a year; split it")
        return self


class CycleOut(Out):
    id: IdOut
    name: str
    start_date: IsoDate
    end_date: IsoDate
    opens_at: datetime
    status: CycleState = Field(description="planned, open (from opens_at on), closed or published")
    closed_at: datetime | None
    published_at: datetime | None
    published_run_id: IdOut | None
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _status_now(cls, data: Any) -> Any:
        """A stored cycle shows the status it has now, not the one last stored (planned past opens_at: open)."""
        return cycle_fields(data) if isinstance(data, Cycle) else data


def cycle_fields(cycle: Cycle) -> dict:
    """A stored cycle's fields as callers see them, with the status it has now."""
    return {name: getattr(cycle, name) for name in CycleOut.model_fields} | {"status": cycle_status(cycle)}


class SupplyLineIn(In):
    brand_code: Id
    quantity: Annotated[int, Field(ge=0, le=10**12, description="whole cartons available this cycle")]


class SupplyLineOut(Out):
    brand_code: str
    quantity: int


class SupplySummary(Out):
    cycle_id: IdOut
    specs: int = Field(description="specs with a supply row (a spec missing has supply 0)")
    total: int


class PolicyOut(PolicyVersionOut):
    params: CapPolicy = Field(description="the policy in force (the body of PUT /v1/cap-policy)")


class CapIn(In):
    """A total cap only: a field meaning a floor, a minimum or a per-spec quantity is refused (总量浮动管理)."""

    retailer_id: Id
    cap: Annotated[int, Field(ge=0, le=CAP_MAX, description="upper limit of the retailer's total, whole cartons")]
    weight: Weight | None = Field(None, description="default: the cap's current weight, else 1")


class CapOut(Out):
    retailer_id: str
    cap: int
    weight: float
    source: CapSource = Field(description="computed (by the policy), set (by an admin) or adjusted (an approved move)")
    policy_version: int | None
    basis: dict[str, Any]
    updated_at: datetime


class CapsSetSummary(Out):
    cycle_id: IdOut
    set: int = Field(description="caps in the request")
    changed: int = Field(description="caps whose value or weight differed before")
    total: int = Field(description="sum of every cap of the cycle after the request")


class ComputeSummary(Out):
    cycle_id: IdOut
    policy_version: int
    overwrite: bool
    computed: int = Field(description="caps written from the policy")
    kept: int = Field(description="set or adjusted caps left as they were (overwrite=false)")
    removed: int = Field(description="earlier computed caps dropped (retailers no longer active)")
    computed_total: int
    total: int = Field(description="sum of every cap of the cycle after the request")
    by_method: dict[str, int]
    by_size_class: dict[str, dict[str, int]]


class MoveIn(In):
    from_retailer_id: Id
    to_retailer_id: Id
    quantity: Annotated[int, Field(gt=0, le=CAP_MAX, description="whole cartons of cap moved")]

    @model_validator(mode="after")
    def _two_retailers(self) -> MoveIn:
        if self.from_retailer_id == self.to_retailer_id:
            raise ValueError("from_retailer_id and to_retailer_id must differ")
        return self


class AdjustmentIn(In):
    """Moves of cap between one account manager's own retailers; their sum is unchanged by construction."""

    moves: Annotated[list[MoveIn], Field(min_length=1, max_length=500)]
    reason: Annotated[CleanStr, Field(min_length=1, max_length=1000)]


class MoveOut(Out):
    from_retailer_id: str
    to_retailer_id: str
    quantity: int


class AdjustmentOut(Out):
    id: IdOut
    cycle_id: IdOut
    manager_id: str
    status: AdjustmentState = Field(description="pending, approved or rejected")
    moves: list[MoveOut]
    reason: str
    created_by: IdOut
    created_at: datetime
    decided_by: IdOut | None
    decided_at: datetime | None


class RejectIn(In):
    reason: Annotated[CleanStr, Field(min_length=1, max_length=1000)] | None = None
