"""The certificate must catch what is wrong: planted unfairness, lost volume, broken limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from allocation.certificate import certify, max_flow_volume, reasons
from allocation.problem import Problem
from allocation.engine import REASONS, allocate
from tests.worlds.oracles import brute_feasible, brute_violations, cycles, expected_reason, lp_max_volume


def problem_of(demand, supply, caps) -> Problem:
    return Problem.from_frames(pd.DataFrame(demand, columns=["retailer_id", "brand_code", "quantity"]),
                               pd.DataFrame(supply, columns=["brand_code", "quantity"]),
                               pd.DataFrame(caps, columns=["retailer_id", "cap", "weight"][:len(caps[0])]))


# one spec, supply 5, demands 4 (A) and 6 (B): the fair split is A 2, B 3
SPLIT = problem_of([("A", "x", 4), ("B", "x", 6)], [("x", 5)], [("A", 100), ("B", 100)])
# one retailer capped at 3 over two ample specs: the fair split is x 2, y 1
WITHIN = problem_of([("A", "x", 4), ("A", "y", 2)], [("x", 10), ("y", 10)], [("A", 3)])


def test_fair_allocations_pass_with_a_cut_proof():
    for problem, x, volume in ((SPLIT, [2, 3], 5), (WITHIN, [2, 1], 3)):
        cert = certify(problem, np.array(x))
        assert cert.fairness_violations == 0 and cert.feasible
        assert cert.volume == cert.max_volume == volume
        assert cert.max_volume_proof == "cut"


def test_planted_violation_between_retailers():
    cert = certify(SPLIT, np.array([1, 4]))  # B at 4: (4-1)/6 = 1/2 > A's 1/4
    assert cert.violations_between_retailers == 1 and cert.violations_within_retailer == 0
    assert cert.volume == cert.max_volume


def test_weights_change_what_counts_as_a_violation():
    heavy = problem_of([("A", "x", 4), ("B", "x", 4)], [("x", 4)], [("A", 100, "2"), ("B", 100, "1")])
    assert certify(heavy, np.array([3, 1])).fairness_violations == 0  # (3-1)/8 = 1/4 <= 1/4
    assert certify(heavy, np.array([1, 3])).fairness_violations == 1  # (3-1)/4 = 1/2 > 1/8


def test_planted_violation_within_a_retailer():
    cert = certify(WITHIN, np.array([1, 2]))  # y full: (2-1)/2 = 1/2 > x's 1/4
    assert cert.violations_within_retailer == 1 and cert.violations_between_retailers == 0


def test_lost_volume_is_found_by_a_fresh_max_flow():
    cert = certify(SPLIT, np.array([2, 2]))
    assert cert.volume == 4 and cert.max_volume == 5 and cert.max_volume_proof == "max_flow"


def test_broken_limits_are_counted():
    cert = certify(SPLIT, np.array([5, 3]))
    assert not cert.feasible
    assert cert.lines_out_of_bounds == 1 and cert.specs_over_supply == 1
    assert cert.max_volume == 5
    assert not certify(WITHIN, np.array([3, 1])).feasible


def test_fractional_cartons_are_refused():
    try:
        certify(SPLIT, np.array([2.5, 2.5]))
    except TypeError as exc:
        assert "whole cartons" in str(exc)
    else:
        raise AssertionError("fractional allocation accepted")


def test_shortfall_figures():
    problem = problem_of([("A", "x", 4), ("B", "x", 6), ("B", "none", 2)], [("x", 5), ("none", 0)],
                         [("A", 100), ("B", 100)])
    cert = certify(problem, np.array([2, 0, 3]))  # lines in canonical order: (A,x), (B,none), (B,x)
    assert cert.short_lines == 3 and cert.short_lines_at_zero == 1
    assert cert.largest_shortfall == 3  # (B,x) short by 3; (B,none) had no supply to give
    assert [REASONS[c] for c in reasons(problem, np.array([2, 0, 3]))] == ["supply", "no_supply", "supply"]


@st.composite
def cycle_and_allocation(draw):
    problem = Problem.from_frames(*draw(cycles(max_retailers=4, max_specs=3, max_quantity=5)))
    x = np.array([draw(st.integers(0, int(d))) for d in problem.line_demand], dtype=np.int64)
    return problem, x


@settings(max_examples=150, deadline=None)
@given(cycle_and_allocation())
def test_certificate_agrees_with_brute_force_on_any_allocation(case):
    problem, x = case
    cert = certify(problem, x)
    brute = brute_violations(problem, x)
    event(f"violations: {'some' if sum(brute.values()) else 'none'}")
    assert cert.violations_between_retailers == brute["between_retailers"]
    assert cert.violations_within_retailer == brute["within_retailer"]
    assert cert.feasible == brute_feasible(problem, x)
    assert cert.max_volume == lp_max_volume(problem)
    assert [REASONS[c] for c in reasons(problem, x)] == expected_reason(problem, x)


@settings(max_examples=150, deadline=None)
@given(cycles(max_retailers=6, max_specs=4, max_quantity=9))
def test_max_flow_volume_matches_an_lp(cycle):
    problem = Problem.from_frames(*cycle)
    assert max_flow_volume(problem) == lp_max_volume(problem)


@pytest.mark.parametrize("capped_share", [0.2, 0.6])
def test_max_flow_volume_matches_an_lp_on_a_bench_shaped_cycle(capped_share):
    from bench.instances import Shape, instance

    shape = Shape(retailers=400, specs=40, lines_per_retailer=8, capped_share=capped_share)
    problem = Problem.from_frames(*instance(shape, 3))
    assert max_flow_volume(problem) == lp_max_volume(problem)


@settings(max_examples=40, deadline=None)
@given(cycles(max_retailers=5, max_specs=4, max_quantity=6), st.data())
def test_taking_a_carton_from_a_maximal_allocation_shows_as_lost_volume(cycle, data):
    problem = Problem.from_frames(*cycle)
    x = allocate(problem).allocated.copy()
    holders = np.flatnonzero(x > 0)
    assume(len(holders) > 0)
    j = data.draw(st.sampled_from(holders.tolist()))
    x[j] -= 1
    cert = certify(problem, x)
    assert cert.volume < cert.max_volume
    assert cert.max_volume == lp_max_volume(problem)
