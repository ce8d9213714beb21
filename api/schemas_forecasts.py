"""Forecast and accuracy bodies, so a phone's malformed forecast is refused before it reaches the data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from allocation.numbers import Whole
from api.schemas import CleanStr, IdOut, In, Out

# A manager's volume of one spec in one cycle: 10,000 cartons a line for up to 1,000 retailers.
MAX_FORECAST_QUANTITY = 10_000_000
MAX_FORECAST_LINES = 5_000

BrandCode = Annotated[CleanStr, StringConstraints(min_length=1, max_length=64)]


class ForecastLineIn(In):
    brand_code: BrandCode
    quantity: Whole = Field(ge=0, le=MAX_FORECAST_QUANTITY,
                          description="whole cartons the manager expects his retailers to order of this spec")


class ForecastIn(In):
    """A manager's whole forecast for one cycle; it replaces the previous one."""

    lines: list[ForecastLineIn] = Field(max_length=MAX_FORECAST_LINES)

    @field_validator("lines")
    @classmethod
    def _one_line_per_spec(cls, lines: list[ForecastLineIn]) -> list[ForecastLineIn]:
        """A repeated spec would make the stored forecast depend on which copy wins."""
        seen: set[str] = set()
        for line in lines:
            if line.brand_code in seen:
                raise ValueError(f"brand_code {line.brand_code!r} appears twice; give one line per spec")
            seen.add(line.brand_code)
        return lines


class ForecastLineOut(Out):
    brand_code: str
    quantity: int


class ForecastOut(Out):
    cycle_id: IdOut
    manager_id: str
    version: int = Field(description="1 for the first forecast of this cycle, +1 for every change")
    submitted_at: datetime = Field(description="when this version was stored; always before the cycle opened")
    submitted_by: IdOut = Field(description="id of the user who stored this version")
    total: int
    lines: list[ForecastLineOut]


class ForecastSummaryOut(Out):
    cycle_id: IdOut
    manager_id: str
    version: int
    submitted_at: datetime
    total: int
    lines: int = Field(description="number of spec lines")


class ByManagerOut(BaseModel):
    manager_id: str
    period: str = Field(description="the cycle id, or the range label 'from..to'")
    single_brand_accuracy: float | None
    total_accuracy: float | None
    key_single_brand_accuracy: float | None = Field(description="null when the manager has no key-brand rows")
    key_total_accuracy: float | None = Field(description="null when the manager has no key-brand rows")
    bias: float | None = Field(description="(ΣF − ΣA)/ΣA; null when there is no actual volume")
    rank: int = Field(description="among ALL managers of the company in this period, before any filter")


class BySpecOut(BaseModel):
    manager_id: str
    period: str
    brand_code: str
    forecast: int
    actual: int
    accuracy: float | None


class AccuracyPage(BaseModel):
    items: list[ByManagerOut] | list[BySpecOut]
    next_cursor: str | None = None
    level: str = Field(description="manager or spec")
    cycle_ids: list[str] = Field(description="the cycles scored (closed or published)")
    cycles_not_closed: list[str] = Field(
        default_factory=list, description="cycles in the range left out because their demand is not final yet")
    date_from: date | None = Field(default=None, serialization_alias="from")
    date_to: date | None = Field(default=None, serialization_alias="to")
