"""The engine against hand-worked cases and independent judges: an LP, pairwise fairness, the unreduced network."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.engine import allocate
from allocation.problem import Problem
from allocation.solver import exact_order
from allocation.vocabulary import LINE_MAX
from tests.worlds.oracles import (
    allocation_cost,
    brute_feasible,
    brute_violations,
    contested_costs,
    cycles,
    expected_reason,
    full_network_optimum,
    lp_max_volume,
)


def frames(demand, supply, caps):
    d = pd.DataFrame(demand, columns=["retailer_id", "brand_code", "quantity"])
    s = pd.DataFrame(supply, columns=["brand_code", "quantity"])
    c = pd.DataFrame(caps, columns=["retailer_id", "cap", "weight"][: len(caps[0]) if caps else 2])
    return d, s, c


def run(demand, supply, caps) -> dict:
    result = allocate(Problem.from_frames(*frames(demand, supply, caps)))
    a = result.allocations
    return {(r, b): (int(x), reason) for r, b, x, reason in
            zip(a.retailer_id.astype(str), a.brand_code.astype(str), a.allocated, a.reason.astype(str))}


def test_one_short_spec_is_split_by_fill_ratio():
    # supply 5 for demands 4 and 6: the cheapest five cartons by (k-1)/d are A0, B0, B1/6, A1/4, B2/6
    got = run([("A", "x", 4), ("B", "x", 6)], [("x", 5)], [("A", 100), ("B", 100)])
    assert got == {("A", "x"): (2, "supply"), ("B", "x"): (3, "supply")}


def test_weight_cuts_a_retailer_less():
    # weights 2 and 1, demand 4 each, supply 4: ratios A 0,1/8,2/8 B 0,1/4; the tie at 1/4 goes to A
    got = run([("A", "x", 4), ("B", "x", 4)], [("x", 4)], [("A", 100, "2"), ("B", 100, "1")])
    assert got == {("A", "x"): (3, "supply"), ("B", "x"): (1, "supply")}


def test_cap_is_shared_across_specs_by_fill_ratio():
    # cap 3 over X (4) and Y (2), both ample: cheapest X0, Y0, X1/4
    got = run([("A", "x", 4), ("A", "y", 2)], [("x", 10), ("y", 10)], [("A", 3)])
    assert got == {("A", "x"): (2, "cap"), ("A", "y"): (1, "cap")}


def test_volume_comes_before_fairness():
    # A is capped at 2 and can fill it from ample y, so short x goes to B, who adds volume with it
    got = run([("A", "x", 2), ("A", "y", 2), ("B", "x", 2)], [("x", 2), ("y", 5)], [("A", 2), ("B", 5)])
    assert got == {("A", "x"): (0, "cap"), ("A", "y"): (2, "full"), ("B", "x"): (2, "full")}


def test_reasons_follow_the_contract_precedence():
    got = run([("A", "none", 3), ("A", "x", 3), ("B", "x", 5), ("C", "y", 4)],
              [("none", 0), ("x", 4), ("y", 9)], [("A", 1), ("B", 9), ("C", 3)])
    assert got[("A", "none")] == (0, "no_supply")
    assert got[("A", "x")] == (1, "cap")
    assert got[("B", "x")] == (3, "supply")
    assert got[("C", "y")] == (3, "cap")


def test_zero_lines_and_specs_missing_from_supply():
    got = run([("A", "x", 0), ("A", "gone", 2), ("B", "x", 1)], [("x", 1)], [("A", 5), ("B", 5)])
    assert got == {("A", "gone"): (0, "no_supply"), ("B", "x"): (1, "full")}


def test_empty_cycle():
    result = allocate(Problem.from_frames(*frames([], [("x", 3)], [("A", 5)])))
    assert len(result.allocations) == 0
    assert result.certificate.volume == result.certificate.max_volume == 0


def test_quantities_at_the_maximum():
    # B is capped at 10,000: volume needs A full on x, and B's one spare carton of x keeps B's lines fair
    got = run([("A", "x", LINE_MAX), ("B", "x", LINE_MAX), ("B", "y", LINE_MAX)],
              [("x", LINE_MAX + 1), ("y", LINE_MAX)], [("A", LINE_MAX), ("B", LINE_MAX)])
    assert got == {("A", "x"): (LINE_MAX, "full"), ("B", "x"): (1, "cap"), ("B", "y"): (LINE_MAX - 1, "cap")}


def test_exact_order_separates_ratios_a_float_cannot():
    # 882881/8828817953 is above 999999/9999999008 by 1/(q1 q2), yet both are the same float
    p = np.array([882_881, 999_999, 0, 882_881], np.int64)
    q = np.array([8_828_817_953, 9_999_999_008, 7, 8_828_817_953], np.int64)
    assert p[0] / q[0] == p[1] / q[1]
    rank = exact_order(p, q)
    assert rank.tolist() == [2, 1, 0, 2]


@settings(max_examples=120, deadline=None)
@given(cycles())
def test_maximal_fair_feasible_and_least_cost(cycle):
    problem = Problem.from_frames(*cycle)
    result = allocate(problem)
    x = result.allocated
    assert brute_feasible(problem, x)
    assert int(x.sum()) == lp_max_volume(problem) == result.certificate.max_volume
    assert brute_violations(problem, x) == {"between_retailers": 0, "within_retailer": 0}
    rank = contested_costs(problem)
    volume, cost = full_network_optimum(problem, rank)
    assert volume == int(x.sum())
    assert allocation_cost(problem, x, rank) == cost
    assert list(result.allocations.reason.astype(str)) == expected_reason(problem, x)
    cert = result.certificate
    assert cert.feasible and cert.fairness_violations == 0


@settings(max_examples=25, deadline=None)
@given(cycles(max_retailers=3, max_specs=3, max_quantity=LINE_MAX, weights=True))
def test_large_quantities_stay_exact(cycle):
    problem = Problem.from_frames(*cycle)
    result = allocate(problem)
    assert int(result.allocated.sum()) == lp_max_volume(problem)
    assert brute_violations(problem, result.allocated) == {"between_retailers": 0, "within_retailer": 0}


@settings(max_examples=40, deadline=None)
@given(cycles(max_retailers=6, max_specs=5), st.randoms(use_true_random=False))
def test_same_output_under_any_row_order(cycle, rnd):
    demand, supply, caps = cycle
    first = allocate(Problem.from_frames(demand, supply, caps)).allocations
    shuffled = [f.iloc[rnd.sample(range(len(f)), len(f))].reset_index(drop=True) for f in (demand, supply, caps)]
    again = allocate(Problem.from_frames(*shuffled)).allocations
    pd.testing.assert_frame_equal(first, again)


def test_timings_and_stats_are_reported():
    # A is capped and x is short, so line (A, x) is contested and needs the flow
    result = allocate(Problem.from_frames(*frames([("A", "x", 4), ("A", "y", 2), ("B", "x", 6)],
                                                  [("x", 5), ("y", 10)], [("A", 3), ("B", 100)])))
    assert set(asdict(result.timings)) == {"validate", "build", "solve", "certify", "write", "total"}
    assert result.timings.total >= result.timings.solve >= 0
    assert result.graph.arcs > 0
    assert list(result.allocations.columns) == ["retailer_id", "brand_code", "demanded", "allocated", "reason"]


@pytest.mark.parametrize("seed", [0, 1])
def test_bench_shaped_cycle_is_certified(seed):
    from bench.instances import Shape, instance

    problem = Problem.from_frames(*instance(Shape(retailers=300, specs=40, lines_per_retailer=8), seed))
    result = allocate(problem)
    cert = result.certificate
    assert cert.feasible and cert.fairness_violations == 0
    assert cert.volume == cert.max_volume == lp_max_volume(problem)
