"""Request and response models of the supply plan: the supply policy, availability and the plan itself."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from allocation.supply_plan import SupplyPolicy
from api.schemas import IdOut, Out, PolicyVersionOut


class SupplyPolicyOut(PolicyVersionOut):
    params: SupplyPolicy = Field(description="the policy in force (the body of PUT /v1/supply-policy)")


class SupplyPlanRow(Out):
    brand_code: str
    price_class: int
    projected_demand: int = Field(description="D̂: the managers' parts summed (forecast, or projection of history)")
    basis: Literal["forecast", "history", "mixed"] = Field(
        description="forecast: every part came from a forecast; history: none did; mixed: otherwise")
    factor: float = Field(description="the supply policy's factor of the spec's price class")
    available: int | None = Field(description="what the industrial companies can deliver; null: unlimited")
    proposed: int = Field(description="min(available, D̂ × round(100 × factor) // 100)")


class ClassTotals(Out):
    projected_demand: int
    proposed: int


class PlanTotals(Out):
    specs: int
    projected_demand: int
    proposed: int
    by_price_class: dict[str, ClassTotals]


class SupplyPlanPage(Out):
    items: list[SupplyPlanRow]
    next_cursor: str | None = None
    cycle_id: IdOut
    policy_version: int = Field(description="the supply policy version the plan was made with")
    weeks: list[str] = Field(description="the ISO weeks a manager without a forecast is projected from")
    managers: int = Field(description="parts: account managers with at least one active retailer")
    forecasters: int = Field(description="of those, the managers who stored a forecast for the cycle")
    totals: PlanTotals = Field(description="over the whole plan, not only this page")
