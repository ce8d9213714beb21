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

import pytest

from allocation.compliance import COLUMNS

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


def same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        g = got[key]
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(g, float) and math.isnan(g), key
        else:
            assert g == pytest.approx(value, rel=1e-12, abs=0), key
            assert type(g) is not float or isinstance(value, float), key
