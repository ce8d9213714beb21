"""The floating-cap policy as data (总量浮动管理), so the marketing department sets it without a code change: its
fields and their bounds, and the refusal of anything that would be a floor or a per-spec quantity."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from allocation.floors import RULE, floor_like_field
from allocation.numbers import CENTS, FOUR_DECIMALS, Number, TierKeyed, Whole, number, whole
from allocation.vocabulary import CAP_MAX, TIER_MAX, TIER_MIN, WEIGHT_DECIMALS, SizeClass

def _refuse_floor_like(value: Any) -> None:
    """Refuses a raw policy body's forbidden name by the rule, not by a generic 'extra field'."""
    found = floor_like_field(value)
    if found:
        raise ValueError(f"field {found[0]}{found[1]!r} {RULE}")


def _decimals_at_most(value: float, places: int, what: str) -> float:
    """Keeps policy numbers exact in integer units (basis points, hundredths): no cap drifts by a carton."""
    scaled = value * 10**places
    if abs(scaled - round(scaled)) > 1e-6:
        raise ValueError(f"{what} takes at most {places} decimals, got {value}")
    return round(value, places)


class FloatBands(BaseModel, extra="forbid", use_attribute_docstrings=True):
    """How far above its agreed monthly total each size class may order (rule 9: larger shops float less)."""

    large: Number = Field(0.05, ge=0, le=1, json_schema_extra=FOUR_DECIMALS)
    """band of large retailers: 0.05 = 5 % above the agreed monthly total (at most 4 decimals)"""
    medium: Number = Field(0.10, ge=0, le=1, json_schema_extra=FOUR_DECIMALS)
    """band of medium retailers"""
    small: Number = Field(0.15, ge=0, le=1, json_schema_extra=FOUR_DECIMALS)
    """band of small retailers"""

    @field_validator("large", "medium", "small")
    @classmethod
    def _four_decimals(cls, v: float) -> float:
        return _decimals_at_most(v, 4, "a band")


class CapPolicy(BaseModel, extra="forbid", use_attribute_docstrings=True):
    """The floating-cap policy as data, so the marketing department sets it without a code change."""

    history_weeks: Whole = Field(12, ge=1, le=104)
    """how many complete ISO weeks of history count: those just before the week of the month's first cycle"""
    min_history_weeks: Whole = Field(4, ge=1, le=104)
    """weeks with an order (total > 0) in the window before a retailer's own history is used"""
    tier_default_weekly: dict[int, whole(ge=0, le=CAP_MAX)] = Field(default_factory=dict, json_schema_extra=TierKeyed)
    """per tier (1-30), cartons a week for retailers without enough history; else their peers' median"""
    bands: FloatBands = Field(default_factory=FloatBands)
    """the float band by size class, 0..1: the monthly cap is the agreed monthly total times (1 + band)"""
    medium_from_tier: Whole = Field(11, ge=1, le=31)
    """size class from tier when a retailer has none: tiers below this one are small"""
    large_from_tier: Whole = Field(23, ge=1, le=31)
    """tiers from this one up are large, those from medium_from_tier up to it medium (31: none large)"""
    tier_weights: dict[int, number(gt=0, le=100, json_schema_extra=CENTS)] = Field(default_factory=dict,
                                                                                  json_schema_extra=TierKeyed)
    """per tier (1-30), the fairness weight (> 0, at most 2 decimals, default 1): a higher one is cut less"""
    smoothing_factor: Number = Field(1.5, ge=1, le=10, json_schema_extra=CENTS)
    """no cycle's cap exceeds this multiple of the month's even share (rounded up): no month-end surge"""
    rounding: Literal["down"] = "down"
    """caps are whole cartons, rounded down, never negative"""
    max_cap: Whole = Field(CAP_MAX, ge=0, le=CAP_MAX)
    """no cap exceeds this many cartons"""

    @model_validator(mode="before")
    @classmethod
    def _no_floor_fields(cls, data: Any) -> Any:
        _refuse_floor_like(data)
        return data

    @field_validator("tier_default_weekly")
    @classmethod
    def _defaults_ok(cls, v: dict[int, int]) -> dict[int, int]:
        for tier, weekly in v.items():
            if not TIER_MIN <= tier <= TIER_MAX or not 0 <= weekly <= CAP_MAX:
                raise ValueError(
                    f"tier_default_weekly needs tiers 1-30, 0-{CAP_MAX} cartons: {tier}: {weekly}"
                )
        return dict(sorted(v.items()))

    @field_validator("tier_weights")
    @classmethod
    def _weights_ok(cls, v: dict[int, float]) -> dict[int, float]:
        weights = {t: _decimals_at_most(w, WEIGHT_DECIMALS, "a weight") for t, w in sorted(v.items())}
        for tier, weight in weights.items():  # checked once rounded: 1e-9 would round to a weight of 0
            if not TIER_MIN <= tier <= TIER_MAX or not 0 < weight <= 100:
                raise ValueError(f"tier_weights needs tiers 1-30 and weights in (0, 100]: {tier}: {v[tier]}")
        return weights

    @field_validator("smoothing_factor")
    @classmethod
    def _factor_ok(cls, v: float) -> float:
        return _decimals_at_most(v, 2, "smoothing_factor")

    @model_validator(mode="after")
    def _consistent(self) -> CapPolicy:
        if self.min_history_weeks > self.history_weeks:
            raise ValueError("min_history_weeks cannot exceed history_weeks")
        if self.medium_from_tier > self.large_from_tier:
            raise ValueError("medium_from_tier cannot exceed large_from_tier")
        return self


def size_from_tier(tiers: np.ndarray, policy: CapPolicy) -> np.ndarray:
    """Gives a retailer without a stated size class the one its tier implies (rule 9: size from tier)."""
    tiers = np.asarray(tiers)
    return np.where(
        tiers < policy.medium_from_tier, SizeClass.SMALL.value,
        np.where(tiers < policy.large_from_tier, SizeClass.MEDIUM.value, SizeClass.LARGE.value),
    ).astype(object)
