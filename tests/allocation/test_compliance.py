"""Compliance figures against the hand-worked two-cycle example of tests/worlds/compliance.py."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.compliance import (
    COLUMNS,
    FIGURES,
    ComplianceData,
    CompliancePolicy,
    cycle_sums,
    last_year_weeks,
    report,
)
from tests.worlds.compliance import CYCLE_1, ORDERS, OWNERS, POOLED, PRICES, same


def data(orders=ORDERS, owners=OWNERS, inactive=("r6",), history=True) -> ComplianceData:
    o = pd.DataFrame([(c, r, owners[r], ch, ok, sum(lines.values())) for c, rows in orders.items()
                      for r, (ch, ok, lines) in rows.items()],
                     columns=["cycle_id", "retailer_id", "manager_id", "channel", "approved", "total"])
    lines = pd.DataFrame([(c, r, b, q) for c, rows in orders.items() for r, (_, _, ls) in rows.items()
                          for b, q in ls.items()], columns=["cycle_id", "retailer_id", "brand_code", "quantity"])
    # the cartons that enter the run: retailer-stated orders and collected ones approved (accuracy's actuals)
    demand = pd.DataFrame([(c, owners[r], b, q) for c, rows in orders.items() for r, (ch, ok, ls) in rows.items()
                           if ch == "retailer_stated" or ok for b, q in ls.items() if q > 0],
                          columns=["cycle_id", "manager_id", "brand_code", "quantity"])
    return ComplianceData(
        cycles=pd.DataFrame({"cycle_id": [1, 2], "start_date": [date(2026, 11, 23), date(2026, 11, 30)],
                             "end_date": [date(2026, 11, 29), date(2026, 12, 6)]}),
        retailers=pd.DataFrame({"retailer_id": list(owners), "manager_id": list(owners.values()),
                                "active": [r not in inactive for r in owners]}),
        orders=o, lines=lines, demand=demand,
        brands=pd.DataFrame({"brand_code": list(PRICES), "wholesale_price": [Decimal(p) for p in PRICES.values()],
                             "is_key": [b == "K" for b in PRICES]}),
        adjustments=pd.DataFrame({"cycle_id": [1, 1], "manager_id": ["M1", "M2"], "cartons": [8, 2]}),
        allocated=pd.DataFrame({"cycle_id": [1, 1], "manager_id": ["M1", "M1"], "brand_code": ["K", "A"],
                                "quantity": [4, 6]}),
        history=pd.DataFrame({"manager_id": ["M1"] * 4, "week": [date(2025, 11, 24)] * 4,
                              "brand_code": ["K", "A", "B", "GONE"], "quantity": [1, 1, 2, 5]}),
        loaded_weeks=frozenset({date(2025, 11, 24)} if history else set()),
    )


def rows_of(rows: pd.DataFrame, period: str) -> dict:
    part = rows[rows["period"] == period]
    return {m: r for m, r in zip(part["manager_id"], part[COLUMNS[2:]].to_dict("records"))}


def check(rows: dict, want: dict) -> None:
    assert set(rows) == set(want)
    for manager, figures in want.items():
        same(rows[manager], figures)


def test_every_figure_of_one_cycle_by_hand():
    got = rows_of(report(cycle_sums(data(), CompliancePolicy())), "1")
    check(got, CYCLE_1)


def test_cycle_two_by_hand():
    got = rows_of(report(cycle_sums(data(), CompliancePolicy())), "2")
    assert got["M1"]["no_order_retailers"] == 3 and got["M2"]["no_order_retailers"] == 2
    assert got["M1"]["orders_in_clusters"] == 0  # two identical orders of two lines each
    assert math.isnan(got["M1"]["value_per_carton_last_year"])  # the year-ago week has no history loaded
    assert got["M2"]["collected_left_out"] == 1 and math.isnan(got["M2"]["value_per_carton_demand"])
    assert got[None]["orders"] == 3 and got[None]["no_order_retailers"] == 6


def test_pooled_over_a_range_adds_counts_and_recomputes_rates():
    rows = report(cycle_sums(data(), CompliancePolicy()), "2026-11-01..2026-12-31")
    assert set(rows["period"]) == {"2026-11-01..2026-12-31"}
    got = rows_of(rows, "2026-11-01..2026-12-31")
    company = got.pop(None)
    check(got, POOLED)
    assert company["orders"] == 11 and company["no_order_retailers"] == 8
    assert company["self_submission_rate"] == 7 / 11


def test_company_row_comes_first_and_columns_are_the_contracts():
    rows = report(cycle_sums(data(), CompliancePolicy()))
    assert list(rows.columns) == COLUMNS
    assert rows["manager_id"].iloc[0] is None


def test_no_orders_at_all():
    rows = report(cycle_sums(data(orders={1: {}, 2: {}}), CompliancePolicy()))
    got = rows_of(rows, "1")
    assert got[None]["orders"] == 0 and got[None]["no_order_retailers"] == 9
    for manager in ("M1", "M2", "M3", None):
        for name in FIGURES:
            if name not in ("value_per_carton_allocated", "key_share_allocated", "value_per_carton_last_year"):
                assert math.isnan(got[manager][name]), (manager, name)
    assert got["M1"]["value_per_carton_allocated"] == 70.0  # the allocated frame is given as is
    assert got["M1"]["value_per_carton_last_year"] == 47.5  # last year does not depend on this year's orders


def test_all_collected():
    orders = {1: {r: ("collected", i % 2 == 0, {"A": 1 + i}) for i, r in enumerate(["r1", "r2", "r3", "s1"])}, 2: {}}
    got = rows_of(report(cycle_sums(data(orders=orders), CompliancePolicy())), "1")
    # r1 A1 approved, r2 A2 not, r3 A3 approved, s1 A4 not
    same(got["M1"], {**got["M1"], "orders": 3, "retailer_stated": 0, "collected": 3, "collected_approved": 2,
                     "collected_left_out": 1, "self_submission_rate": 0.0, "self_submission_volume_rate": 0.0,
                     "value_per_carton_demand": 50.0, "key_share_demand": 0.0})
    same(got[None], {**got[None], "orders": 4, "collected": 4, "collected_approved": 2, "collected_left_out": 2,
                     "self_submission_rate": 0.0, "self_submission_volume_rate": 0.0})


def test_policy_thresholds_change_the_clusters():
    got = rows_of(report(cycle_sums(data(), CompliancePolicy(min_cluster=2, min_lines=2))), "2")
    assert got["M1"]["orders_in_clusters"] == 2 and got["M1"]["cluster_share"] == 1.0
    got = rows_of(report(cycle_sums(data(), CompliancePolicy(min_cluster=4))), "1")
    assert got["M1"]["orders_in_clusters"] == 0


def test_an_incomplete_year_ago_window_gives_no_last_year_value():
    got = rows_of(report(cycle_sums(data(history=False), CompliancePolicy())), "1")
    assert math.isnan(got["M1"]["value_per_carton_last_year"]) and math.isnan(got["M1"]["value_per_carton_change"])


@pytest.mark.parametrize(("start", "end", "weeks"), [
    (date(2026, 11, 23), date(2026, 11, 29), [date(2025, 11, 24)]),                        # a Monday-to-Sunday week
    (date(2026, 11, 25), date(2026, 12, 1), [date(2025, 12, 1)]),                          # Wednesday to Tuesday
    (date(2026, 11, 23), date(2026, 12, 6), [date(2025, 11, 24), date(2025, 12, 1)]),      # two weeks
    (date(2026, 11, 24), date(2026, 11, 27), []),                                          # no Monday at all
])
def test_last_year_weeks(start, end, weeks):
    assert last_year_weeks(start, end) == weeks


def test_change_rounds_half_away_from_zero():
    sums = pd.DataFrame({"demand_value": [10125, 9875, 100], "demand_cartons": [100, 100, 1],
                         "last_year_value": [10000, 10000, 300], "last_year_cartons": [100, 100, 1]})
    # 101.25/100 − 1 = +1.25 % exactly; 98.75/100 − 1 = −1.25 %; 1/3 − 1 = −66.666...%
    assert FIGURES["value_per_carton_change"](sums).tolist() == [1.25, -1.25, -66.67]
    half = pd.DataFrame({"demand_value": [100_005, 99_995], "demand_cartons": [1_000_000, 1_000_000],
                         "last_year_value": [1, 1],
                         "last_year_cartons": [10, 10]})
    assert FIGURES["value_per_carton_change"](half).tolist() == [0.01, -0.01]  # ±0.005 % -> ±0.01
    assert FIGURES["value_per_carton_demand"](pd.DataFrame({"demand_value": [5, 4], "demand_cartons": [2, 8]})) \
        .tolist() == [0.03, 0.01]  # 2.5 fen -> 3 fen, 0.5 fen -> 1 fen: half up


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_shuffling_rows_changes_nothing(seed):
    d = data()
    expected = report(cycle_sums(d, CompliancePolicy()))
    shuffled = ComplianceData(**{name: (getattr(d, name).sample(frac=1, random_state=seed + i)
                                        if isinstance(getattr(d, name), pd.DataFrame) else getattr(d, name))
                                 for i, name in enumerate(d.__dataclass_fields__)})
    pd.testing.assert_frame_equal(report(cycle_sums(shuffled, CompliancePolicy())), expected)
