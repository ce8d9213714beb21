"""The supply plan of a coming cycle (按客户订单组织货源): projected demand per spec, and the supply proposed
from it with the slightly tight balance (稍紧平衡) of price classes 4 and 5.

Pure computation on frames; every figure is an integer computed exactly as DOMAIN.md words it:

* the parts are the account managers with at least one active retailer; a manager who stored a forecast
  version for the cycle (even an empty one) contributes his forecast line per spec (0 without a line), any
  other manager his projection (allocation.projection: the mean of his active retailers' last N weeks,
  rounded half up); the parts are summed into the projected demand D̂;
* basis: `forecast` when every part came from a forecast, `history` when none did, `mixed` otherwise;
* proposed = min(available, D̂ × round(100 f) // 100), f the factor of the spec's price class, available
  unlimited where the cycle's availability does not list the spec;
* the plan lists every spec with D̂ > 0 or an availability row, by brand_code.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator

from allocation.numbers import CENTS, Whole, number

PRICE_CLASSES = ("1", "2", "3", "4", "5")
DEFAULT_FACTORS = {"1": 1.0, "2": 1.0, "3": 1.0, "4": 0.95, "5": 0.95}
PLAN_COLUMNS = ["brand_code", "price_class", "projected_demand", "basis", "factor", "available", "proposed"]


class SupplyPolicy(BaseModel, extra="forbid", use_attribute_docstrings=True):
    """How the supply plan is made: the factor per price class (rule 8) and the weeks a projection looks back."""

    factors: dict[str, number(gt=0, le=2, json_schema_extra=CENTS)] = Field(default_factory=lambda: dict(DEFAULT_FACTORS),
                                                json_schema_extra={"propertyNames": {"enum": list(PRICE_CLASSES)}})
    """per price class "1"-"5": proposed supply = projected demand × factor, rounded down (0 < factor ≤ 2, at most
    2 decimals); a class left out keeps its default (1.00 for classes 1-3, 0.95 for 4-5: slightly tight)"""
    weeks: Whole = Field(8, ge=1, le=52)
    """how many weeks before the cycle's week a manager without a forecast is projected from"""

    @field_validator("factors")
    @classmethod
    def _factors_ok(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(PRICE_CLASSES))
        if unknown:
            raise ValueError(f"factors are keyed by price class 1-5; unknown key(s) {', '.join(unknown)}")
        for key, factor in v.items():
            if not 0 < round(factor, 2) <= 2:  # checked as stored: 1e-9 would round to a factor of 0
                raise ValueError(f"the factor of price class {key} must be above 0 and at most 2, got {factor}")
            if abs(factor * 100 - round(factor * 100)) > 1e-9:
                raise ValueError(f"the factor of price class {key} takes at most 2 decimals, got {factor}")
        return {k: round(v.get(k, DEFAULT_FACTORS[k]), 2) for k in PRICE_CLASSES}

    def percent(self, price_class: int) -> int:
        """The factor of a price class in whole hundredths: round(100 f)."""
        return round(100 * self.factors[str(price_class)])


def projected_parts(managers: Collection[str], forecasters: Collection[str], forecasts: pd.DataFrame,
                    projections: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Every part's cartons per spec (manager_id, brand_code, quantity) and the plan's basis.

    forecasts and projections hold (manager_id, brand_code, quantity); only the managers in `managers` count,
    each from his forecast if he is in `forecasters`, else from his projection.
    """
    managers = set(managers)
    by_forecast = managers & set(forecasters)
    parts = pd.concat([forecasts[forecasts["manager_id"].isin(by_forecast)],
                       projections[projections["manager_id"].isin(managers - by_forecast)]], ignore_index=True)
    basis = "forecast" if managers and by_forecast == managers else "history" if not by_forecast else "mixed"
    return parts[["manager_id", "brand_code", "quantity"]], basis


def supply_plan(parts: pd.DataFrame, basis: str, brands: pd.DataFrame, availability: pd.DataFrame,
                policy: SupplyPolicy) -> pd.DataFrame:
    """The plan in PLAN_COLUMNS, one row per spec with D̂ > 0 or an availability row, ordered by brand_code.

    brands: brand_code, price_class of the specs the company carries (a projected spec it no longer carries
    cannot be bought and is left out); availability: brand_code, quantity. `available` is None where unlimited.
    """
    classes = dict(zip(brands["brand_code"].astype(str), brands["price_class"].astype(int)))
    demand = parts.groupby("brand_code")["quantity"].sum() if len(parts) else pd.Series(dtype="int64")
    avail = dict(zip(availability["brand_code"].astype(str), availability["quantity"].astype("int64").tolist()))
    codes = sorted(({c for c, q in demand.items() if q > 0} | set(avail)) & set(classes))
    rows = []
    for code in codes:
        d_hat = int(demand.get(code, 0))
        price_class = classes[code]
        available = avail.get(code)
        wanted = d_hat * policy.percent(price_class) // 100
        rows.append((code, price_class, d_hat, basis, policy.factors[str(price_class)], available,
                     wanted if available is None else min(available, wanted)))
    frame = pd.DataFrame(rows, columns=PLAN_COLUMNS).astype(
        {"price_class": "int64", "projected_demand": "int64", "factor": "float64", "proposed": "int64"})
    frame["available"] = pd.Series([r[5] for r in rows], dtype=object)  # None stays None: unlimited
    return frame


def plan_totals(plan: pd.DataFrame) -> dict:
    """The plan's sums, overall and per price class, for the answer's summary."""
    by_class = {str(k): {"projected_demand": int(g["projected_demand"].sum()), "proposed": int(g["proposed"].sum())}
                for k, g in plan.groupby("price_class")} if len(plan) else {}
    return {"specs": len(plan), "projected_demand": int(np.sum(plan["projected_demand"])) if len(plan) else 0,
            "proposed": int(np.sum(plan["proposed"])) if len(plan) else 0, "by_price_class": by_class}
