"""The cycle board's answer: a cycle with its order counts, caps missing and demand against supply per spec."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from api.schemas import Out
from api.schemas_caps import CycleOut, cycle_fields
from models.summary import CycleSummary


class ChannelCounts(Out):
    retailer_stated: int
    collected: int


class StatusCounts(Out):
    submitted: int = Field(description="retailer-stated orders (they need no sign-off)")
    pending_approval: int = Field(description="collected orders whose current version is not signed off")
    approved: int = Field(description="collected orders signed off at their current version")


class SpecLine(Out):
    brand_code: str
    name: str
    demand: int = Field(description="cartons ordered, over every current order of the cycle (above caps too)")
    supply: int = Field(description="the cycle's supply (0 where the spec has none)")
    allocated: int | None = Field(description="cartons allocated by the published run; null before publishing")


class CycleSummaryOut(CycleOut):
    orders: int
    cartons: int = Field(description="cartons ordered over every current order")
    by_channel: ChannelCounts
    by_status: StatusCounts
    collected_pending: int = Field(description="collected orders awaiting the market manager's sign-off")
    capped_active_retailers: int
    retailers_without_cap: int = Field(description="active retailers with no cap for this cycle")
    ordered_without_cap: int = Field(description="retailers with an order but no cap: closing is refused until 0")
    specs: list[SpecLine] = Field(description="every spec with demand or supply, by brand_code")

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        """The board shows the cycle's own fields beside its counts and specs."""
        if isinstance(data, CycleSummary):
            return cycle_fields(data.cycle) | data.counts | {"specs": data.specs}
        return data
