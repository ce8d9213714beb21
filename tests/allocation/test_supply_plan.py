"""The supply plan's arithmetic against figures computed by hand, carton by carton (DOMAIN.md "Supply by orders")."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from allocation.projection import (
    backtest,
    half_up,
    period_week,
    project_mean,
    wape,
    weekly_demand,
    weeks_before,
)
from allocation.supply_plan import SupplyPolicy, plan_totals, projected_parts, supply_plan


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns).astype({"quantity": "int64"})


def weekly(rows):
    return frame(rows, ["manager_id", "week", "brand_code", "quantity"])


def lines(rows):
    return frame(rows, ["manager_id", "brand_code", "quantity"])


BRANDS = pd.DataFrame({"brand_code": ["A1", "B3", "C4", "D5", "E2"], "price_class": [1, 3, 4, 5, 2]})
NO_AVAILABILITY = pd.DataFrame({"brand_code": pd.Series(dtype=object), "quantity": pd.Series(dtype="int64")})


def test_weeks_before_the_cycles_week_oldest_first():
    # 2026-11-16 is the Monday of 2026-W47; a cycle starting on its Wednesday has the same window
    assert weeks_before(date(2026, 11, 16), 3) == ["2026-W44", "2026-W45", "2026-W46"]
    assert weeks_before(date(2026, 11, 18), 3) == ["2026-W44", "2026-W45", "2026-W46"]
    assert weeks_before(date(2026, 1, 1), 2) == ["2025-W51", "2025-W52"]          # 2026-W01 starts 2025-12-29
    assert period_week("2026-W05") == "2026-W05" and period_week("2026-02-04") == "2026-W06"
    assert period_week("2026W05") == "2026-W05" and period_week("last week") is None


def test_a_covered_week_takes_the_cycles_demand_and_history_fills_the_rest():
    weeks = ["2026-W44", "2026-W45", "2026-W46"]
    cycles = weekly([("M1", "2026-W45", "A1", 7), ("M1", "2026-W40", "A1", 99)])   # W40 is outside the window
    history = weekly([("M1", "2026-W44", "A1", 3), ("M1", "2026-W45", "A1", 50),     # W45 is covered: ignored
                      ("M1", "2026-W46", "A1", 2), ("M2", "2026-W46", "B3", 4)])
    got = weekly_demand(cycles, {"2026-W45", "2026-W40"}, history, weeks)
    assert list(got.itertuples(index=False, name=None)) == [
        ("M1", "2026-W44", "A1", 3), ("M1", "2026-W45", "A1", 7), ("M1", "2026-W46", "A1", 2),
        ("M2", "2026-W46", "B3", 4)]
    # a week that a cycle covers without any order counts 0, even where history has something
    got = weekly_demand(weekly([]), {"2026-W46"}, history, weeks)
    assert ("M2", "2026-W46", "B3", 4) not in list(got.itertuples(index=False, name=None))


def test_projection_is_the_mean_week_rounded_half_up():
    # M1 A1: 3 + 7 + 2 = 12 over 3 weeks = 4;  M1 B3: 5 over 2 weeks = 2.5 -> 3;  M2 B3: 1 over 2 = 0.5 -> 1
    # M2 C4: 1 over 4 = 0.25 -> 0 (kept as a 0 part); weeks without orders count 0
    assert half_up(np.array([12, 5, 1, 1, 3]), 3).tolist() == [4, 2, 0, 0, 1]
    got = project_mean(weekly([("M1", "w1", "B3", 5), ("M2", "w1", "B3", 1)]), 2)
    assert list(got.itertuples(index=False, name=None)) == [("M1", "B3", 3), ("M2", "B3", 1)]
    got = project_mean(weekly([("M1", "w1", "A1", 3), ("M1", "w2", "A1", 7), ("M1", "w3", "A1", 2),
                               ("M2", "w2", "C4", 1)]), 4)
    # 12 / 4 = 3; 1 / 4 = 0.25 -> 0
    assert list(got.itertuples(index=False, name=None)) == [("M1", "A1", 3), ("M2", "C4", 0)]


def test_parts_come_from_forecasts_where_a_manager_forecast_and_basis_says_which():
    forecasts = lines([("M1", "A1", 10), ("M3", "A1", 4)])        # M3 has no active retailer: not a part
    projections = lines([("M1", "A1", 99), ("M2", "A1", 6), ("M2", "C4", 20)])
    parts, basis = projected_parts({"M1", "M2"}, {"M1", "M3"}, forecasts, projections)
    assert sorted(parts.itertuples(index=False, name=None)) == [("M1", "A1", 10), ("M2", "A1", 6), ("M2", "C4", 20)]
    assert basis == "mixed"
    # M1 forecast nothing for C4 (no line): his part is 0 there, not his projection
    assert projected_parts({"M1"}, {"M1"}, forecasts, projections)[1] == "forecast"
    # an empty forecast still makes every part of that manager 0
    parts, basis = projected_parts({"M1"}, {"M1"}, lines([]), projections)
    assert parts.empty and basis == "forecast"
    assert projected_parts({"M1", "M2"}, set(), forecasts, projections)[1] == "history"


def test_the_plan_carton_by_carton():
    parts = lines([("M1", "A1", 60), ("M2", "A1", 41),     # A1 class 1: D̂ 101, f 1.00 -> 101
                   ("M1", "C4", 99),                        # C4 class 4: 99 × 95 // 100 = 94 (94.05 floored)
                   ("M1", "D5", 19), ("M2", "D5", 2),       # D5 class 5: 21 × 95 // 100 = 19 (19.95), availability 15
                   ("M1", "B3", 0),                         # B3: D̂ 0 and no availability row: not listed
                   ("M2", "Z9", 30)])                       # Z9: not in the brand master (delisted): left out
    availability = pd.DataFrame({"brand_code": ["D5", "E2", "A1"], "quantity": [15, 40, 500]})
    plan = supply_plan(parts, "mixed", BRANDS, availability, SupplyPolicy())
    assert plan.to_dict("records") == [
        {"brand_code": "A1", "price_class": 1, "projected_demand": 101, "basis": "mixed", "factor": 1.0,
         "available": 500, "proposed": 101},
        {"brand_code": "C4", "price_class": 4, "projected_demand": 99, "basis": "mixed", "factor": 0.95,
         "available": None, "proposed": 94},
        {"brand_code": "D5", "price_class": 5, "projected_demand": 21, "basis": "mixed", "factor": 0.95,
         "available": 15, "proposed": 15},
        # an availability row lists the spec even with D̂ = 0
        {"brand_code": "E2", "price_class": 2, "projected_demand": 0, "basis": "mixed", "factor": 1.0,
         "available": 40, "proposed": 0},
    ]
    assert plan_totals(plan) == {"specs": 4, "projected_demand": 221, "proposed": 210, "by_price_class": {
        "1": {"projected_demand": 101, "proposed": 101}, "2": {"projected_demand": 0, "proposed": 0},
        "4": {"projected_demand": 99, "proposed": 94}, "5": {"projected_demand": 21, "proposed": 15}}}


def test_other_factors_floor_and_may_exceed_one():
    policy = SupplyPolicy(factors={"1": 1.15, "4": 0.9})
    assert policy.factors == {"1": 1.15, "2": 1.0, "3": 1.0, "4": 0.9, "5": 0.95}   # the rest keep their defaults
    plan = supply_plan(lines([("M1", "A1", 7), ("M1", "C4", 7)]), "history", BRANDS, NO_AVAILABILITY, policy)
    # 7 × 115 // 100 = 8 (8.05);  7 × 90 // 100 = 6 (6.3)
    assert plan[["brand_code", "proposed"]].values.tolist() == [["A1", 8], ["C4", 6]]
    assert supply_plan(lines([]), "history", BRANDS, NO_AVAILABILITY, policy).empty


@pytest.mark.parametrize("body", [{"factors": {"4": 0}}, {"factors": {"4": -0.5}}, {"factors": {"1": 2.01}},
                                  {"factors": {"4": 0.955}}, {"factors": {"6": 1}}, {"weeks": 0}, {"weeks": 53},
                                  {"factor": {"4": 1}}, {"factors": {"4": "a lot"}}])
def test_policy_refuses_what_the_domain_does_not_allow(body):
    with pytest.raises(ValidationError):
        SupplyPolicy.model_validate(body)


def test_policy_defaults():
    assert SupplyPolicy().model_dump() == {"factors": {"1": 1.0, "2": 1.0, "3": 1.0, "4": 0.95, "5": 0.95},
                                           "weeks": 8}
    assert SupplyPolicy(factors={"5": 2}).percent(5) == 200 and SupplyPolicy().percent(4) == 95


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A1", "B3", "C4", "D5", "E2"]), st.integers(0, 10_000)), max_size=12),
       st.dictionaries(st.sampled_from(["A1", "C4", "D5"]), st.integers(0, 5_000)),
       st.dictionaries(st.sampled_from(["1", "2", "3", "4", "5"]), st.integers(1, 200).map(lambda c: c / 100)))
def test_proposed_never_exceeds_available_nor_factor_times_demand(parts, avail, factors):
    policy = SupplyPolicy(factors=factors)
    plan = supply_plan(lines([("M", c, q) for c, q in parts]), "history", BRANDS,
                       pd.DataFrame({"brand_code": list(avail), "quantity": list(avail.values())}), policy)
    for row in plan.itertuples():
        cents = round(policy.factors[str(row.price_class)] * 100)
        assert 100 * row.proposed <= row.projected_demand * cents                    # floored, never rounded up
        assert row.proposed == min(avail.get(row.brand_code, row.proposed), row.projected_demand * cents // 100)
        assert row.projected_demand > 0 or row.brand_code in avail


def test_backtest_wape_by_hand():
    # one cell, weeks 4, 8, 6, 2 with a 2-week window: targets are weeks 3 and 4
    #   mean: (4+8)/2 = 6 vs 6 -> 0; (8+6)/2 = 7 vs 2 -> 5;  WAPE 5 / 8
    #   same as last week: 8 vs 6 -> 2; 6 vs 2 -> 4;  WAPE 6 / 8
    #   managers' forecasts 5 and 2: |6-5| + 0 = 1 -> 1 / 8
    series = np.array([[4, 8, 6, 2]])
    got = backtest(series, 2, forecasts=np.array([[0, 0, 5, 2]]))
    assert got["mean"] == pytest.approx(5 / 8)
    assert got["same_as_last_week"] == pytest.approx(6 / 8)
    assert got["managers_forecasts"] == pytest.approx(1 / 8)
    assert wape(np.array([3]), np.array([0])) is None
    with pytest.raises(ValueError):
        backtest(series, 4)
