"""Hand-computed oracles for every compliance figure (DOMAIN.md "What auditors check beyond accuracy").

Specs (元 per carton): K 100.00 (key), A 50.00, B 20.00, Z 10.00. Managers: M1 has r1..r6 (r6 suspended), M2 has
s1..s3, M3 has t1 (never orders). The policy is the default: min_cluster 3, min_lines 3.

Cycle 1 (2026-11-23 .. 2026-11-29), published
  M1  r1 stated K2 A3 B5 | r2 stated K2 A3 B5 Z0 | r3 collected, approved, K2 A3 B5   (one cluster: r1 r2 r3;
      r2's Z0 line is ignored) | r4 collected, NOT approved, K2 A3 B6 (one quantity differs: not identical)
      | r5 stated A2 B2 Z2 | r6 (suspended now) stated A4
      orders 6 = stated 4 (r1 r2 r5 r6) + collected 2 (approved r3, left out r4); no order: 0 (r1..r5 ordered;
      r6 is not active); cartons 10+10+10+11+6+4 = 51, stated 10+10+6+4 = 30
      -> self 4/6, volume 30/51; clusters 3 -> share 3/6
      demand (r4 left out) 40 cartons; value 3 × (200+150+100) + (100+40+20) + 200 = 1710 元 -> 42.75; key 6/40
      cap moves: one approved adjustment of 5 + 3 -> 1, 8
      allocated (published): K 4, A 6 -> 400 + 300 = 700 元 / 10 = 70.00; key 4/10
      last year: Monday 2025-11-24, loaded; M1's history K1 A1 B2 (+ 5 of spec GONE, not in the master: skipped)
      -> 190 / 4 = 47.50; change 42.75 / 47.5 − 1 = −10.00 %
  M2  s1 stated A2 B2 Z2 | s2 stated A2 B2 Z2 (identical to each other and to M1's r5: two managers, and only two
      of M2's: no cluster, one short) | s3 an order of total 0 (A0): no order
      orders 2, stated 2; no order 1 (s3); cartons 12 -> self 1, volume 1; share 0
      demand 12 cartons, 320 元 -> 26.67 (26.666...); key 0; one adjustment of 2 -> 1, 2; nothing allocated,
      no history -> empty
  M3  no order: everything 0 or empty, no order 1 (t1)
  company  orders 8, stated 6, collected 2 (1 approved, 1 left out), no order 2 -> 6/8, 42/63; clusters 3/8
      demand 52 cartons 2030 元 -> 39.04 (39.038...); key 6/52; moves 2, 10; allocated 70.00, key 0.4
      last year 47.50; change (2030/52) / 47.5 − 1 = 203/247 − 1 = −17.81 %

Cycle 2 (2026-11-30 .. 2026-12-06), closed; its year-ago week (Monday 2025-12-01) has no history loaded
  M1  r1 stated K1 A1 | r3 collected, approved, K1 A1 (two lines: below min_lines)     no order r2 r4 r5 -> 3
  M2  s1 collected, not approved, A5                                                   no order s2 s3 -> 2
  M3  no order t1 -> 1

Pooled over both cycles
  M1  orders 8, stated 5, collected 3 (2 approved, 1 left out), no order 3 -> 5/8; cartons 55, stated 32 -> 32/55
      clusters 3/8; moves 1, 8; demand 44 cartons, 1710 + 300 = 2010 元 -> 45.68 (45.6818...); key 8/44
      allocated 70.00, 0.4 (cycle 1 only); last year 47.50 (cycle 1 only); change 2010/44/47.5 − 1 = −3.83 %
  M2  orders 3, stated 2, collected 1 (0, 1), no order 3 -> 2/3; cartons 17, stated 12 -> 12/17; share 0;
      moves 1, 2; demand 12, 26.67, key 0
  M3  orders 0, no order 2, everything else empty or 0
"""

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

NULL = float("nan")
PRICES = {"K": "100.00", "A": "50.00", "B": "20.00", "Z": "10.00"}
SAME = {"K": 2, "A": 3, "B": 5}
X = {"A": 2, "B": 2, "Z": 2}
OWNERS = {**{f"r{i}": "M1" for i in range(1, 7)}, "s1": "M2", "s2": "M2", "s3": "M2", "t1": "M3"}
# cycle -> retailer -> (channel, approved at current version, lines)
ORDERS = {
    1: {"r1": ("retailer_stated", False, SAME), "r2": ("retailer_stated", False, {**SAME, "Z": 0}),
        "r3": ("collected", True, SAME), "r4": ("collected", False, {**SAME, "B": 6}),
        "r5": ("retailer_stated", False, X), "r6": ("retailer_stated", False, {"A": 4}),
        "s1": ("retailer_stated", False, X), "s2": ("retailer_stated", False, X),
        "s3": ("retailer_stated", False, {"A": 0})},
    2: {"r1": ("retailer_stated", False, {"K": 1, "A": 1}), "r3": ("collected", True, {"K": 1, "A": 1}),
        "s1": ("collected", False, {"A": 5})},
}


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


def row(orders, stated, collected, approved, left_out, no_order, self_rate, volume_rate, in_clusters, share, moves,
        moved, vpc_demand, vpc_allocated, vpc_last_year, change, key_demand, key_allocated) -> dict:
    return dict(zip(COLUMNS[2:], [orders, stated, collected, approved, left_out, no_order, self_rate, volume_rate,
                                  in_clusters, share, moves, moved, vpc_demand, vpc_allocated, vpc_last_year, change,
                                  key_demand, key_allocated]))


CYCLE_1 = {
    "M1": row(6, 4, 2, 1, 1, 0, 4 / 6, 30 / 51, 3, 3 / 6, 1, 8, 42.75, 70.00, 47.50, -10.00, 6 / 40, 4 / 10),
    "M2": row(2, 2, 0, 0, 0, 1, 1.0, 1.0, 0, 0.0, 1, 2, 26.67, NULL, NULL, NULL, 0.0, NULL),
    "M3": row(0, 0, 0, 0, 0, 1, NULL, NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL),
    None: row(8, 6, 2, 1, 1, 2, 6 / 8, 42 / 63, 3, 3 / 8, 2, 10, 39.04, 70.00, 47.50, -17.81, 6 / 52, 4 / 10),
}
POOLED = {
    "M1": row(8, 5, 3, 2, 1, 3, 5 / 8, 32 / 55, 3, 3 / 8, 1, 8, 45.68, 70.00, 47.50, -3.83, 8 / 44, 4 / 10),
    "M2": row(3, 2, 1, 0, 1, 3, 2 / 3, 12 / 17, 0, 0.0, 1, 2, 26.67, NULL, NULL, NULL, 0.0, NULL),
    "M3": row(0, 0, 0, 0, 0, 2, NULL, NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL),
}


def rows_of(rows: pd.DataFrame, period: str) -> dict:
    part = rows[rows["period"] == period]
    return {m: r for m, r in zip(part["manager_id"], part[COLUMNS[2:]].to_dict("records"))}


def same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        g = got[key]
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(g, float) and math.isnan(g), key
        else:
            assert g == pytest.approx(value, rel=1e-12, abs=0), key
            assert type(g) is not float or isinstance(value, float), key


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
