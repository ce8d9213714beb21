"""The `choice` priority: hand-worked cycles, each step against an LP maximum on instances rebuilt from the words of
DOMAIN.md (the carton-by-carton oracle cut, frames read afresh), the whole against the original caps and supply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.certificate import CertificateFailed
from allocation.engine import allocate
from allocation.pipeline import allocate_to_file
from allocation.problem import Problem
from allocation.solver import Solution
from tests.worlds.oracles import brute_feasible, brute_violations, cycles, expected_reason, lp_max_volume, oracle_cut


def frames(demand, supply, caps):
    return (pd.DataFrame(demand, columns=["retailer_id", "brand_code", "quantity"]),
            pd.DataFrame(supply, columns=["brand_code", "quantity"]),
            pd.DataFrame(caps, columns=["retailer_id", "cap"]))


def run(demand, supply, caps, priority="choice"):
    result = allocate(Problem.from_frames(*frames(demand, supply, caps)), priority=priority)
    a = result.allocations
    rows = {(r, b): (int(x), why) for r, b, x, why in
            zip(a.retailer_id.astype(str), a.brand_code.astype(str), a.allocated, a.reason.astype(str))}
    return rows, result.certificate


def test_a_capped_retailer_keeps_some_of_the_scarce_spec():
    # A (cap 4) wants scarce x 4 and plentiful y 4; B (uncapped) wants x 5; x has 4.
    demand, supply, caps = [("A", "x", 4), ("A", "y", 4), ("B", "x", 5)], [("x", 4), ("y", 10)], [("A", 4), ("B", 50)]
    # volume first: A fills its cap with y and every x goes to B (8 cartons)
    rows, cert = run(demand, supply, caps, "volume")
    assert rows == {("A", "x"): (0, "cap"), ("A", "y"): (4, "full"), ("B", "x"): (4, "supply")}
    assert (cert.volume, cert.as_json()["volume_policy_max"], cert.as_json()["volume_cost"]) == (8, 8, 0.0)
    # choice first: A's order is cut evenly to x 2, y 2 (ranks 0, 0, 1/4, 1/4); step 2 shares x by fill ratio
    # (A 0, 1/2; B 0, 1/5, 2/5: A 1, B 3); step 3 gives A's last carton of room to y, the spec with supply left
    rows, cert = run(demand, supply, caps)
    assert rows == {("A", "x"): (1, "cap"), ("A", "y"): (3, "cap"), ("B", "x"): (3, "supply")}
    assert (cert.volume, cert.volume_policy_max, cert.max_volume, cert.volume_cost) == (7, 8, 8, 0.125)
    assert (cert.cut.volume, cert.refill.volume, cert.cut_cartons, cert.short_lines_at_zero) == (6, 1, 4, 0)
    assert cert.passes and cert.fairness_violations == 0
    shown = cert.as_json()
    assert shown["priority"] == "choice" and shown["steps"]["cut"]["volume"] == 6
    assert shown["steps"]["refill"]["max_volume"] == 1


def test_orders_within_their_caps_are_allocated_as_volume_first():
    demand = [("A", "x", 4), ("A", "y", 4), ("B", "x", 5)]
    for caps in ([("A", 8), ("B", 5)], [("A", 100), ("B", 100)]):
        rows, cert = run(demand, [("x", 4), ("y", 10)], caps)
        assert rows == run(demand, [("x", 4), ("y", 10)], caps, "volume")[0]
        assert cert.cut_cartons == 0 and cert.refill.volume == 0 and cert.volume_cost == 0


def test_a_small_line_gets_its_first_carton_before_a_large_line_its_second():
    # cap 2 over x 10 and y 1, both scarce against B: the cut keeps x 1, y 1 and step 2 gives them
    rows, _ = run([("A", "x", 10), ("A", "y", 1), ("B", "x", 10), ("B", "y", 1)], [("x", 11), ("y", 2)],
                  [("A", 2), ("B", 100)])
    assert rows[("A", "x")][0] == 1 and rows[("A", "y")][0] == 1


def test_ties_go_by_brand_code():
    rows, _ = run([("A", "02", 3), ("A", "01", 3)], [("01", 9), ("02", 9)], [("A", 3)])
    assert rows == {("A", "01"): (2, "cap"), ("A", "02"): (1, "cap")}


def test_a_retailer_whose_cap_is_zero_gets_nothing_and_takes_nothing_from_others():
    rows, cert = run([("A", "x", 4), ("B", "x", 3)], [("x", 5)], [("A", 0), ("B", 9)])
    assert rows == {("A", "x"): (0, "cap"), ("B", "x"): (3, "full")}
    assert cert.passes and cert.volume == cert.volume_policy_max == 3


def _by_key(problem: Problem, x) -> dict[tuple[str, str], int]:
    return {(problem.retailer_ids[r], problem.brand_codes[b]): int(v)
            for r, b, v in zip(problem.line_retailer.tolist(), problem.line_spec.tolist(), np.asarray(x).tolist())}


def _instance(keys: dict, supply: dict, caps: dict, weights: dict) -> Problem:
    """A volume instance rebuilt from plain dictionaries through the file validator (lines of 0 dropped there)."""
    demand = pd.DataFrame([(r, b, q) for (r, b), q in keys.items()], columns=["retailer_id", "brand_code", "quantity"])
    return Problem.from_frames(demand, pd.DataFrame(list(supply.items()), columns=["brand_code", "quantity"]),
                               pd.DataFrame([(r, c, weights[r]) for r, c in caps.items()],
                                            columns=["retailer_id", "cap", "weight"]))


@settings(max_examples=80, deadline=None)
@given(cycles(max_retailers=5, max_specs=4))
def test_each_step_is_maximal_on_its_own_instance_and_the_whole_is_feasible(cycle):
    problem = Problem.from_frames(*cycle)
    result = allocate(problem, priority="choice")
    cert, x = result.certificate, result.allocated
    demand = _by_key(problem, problem.line_demand)
    caps = dict(zip(problem.retailer_ids.tolist(), problem.cap.tolist()))
    weights = {r: w / 100 for r, w in zip(problem.retailer_ids.tolist(), problem.weight_cents.tolist())}
    supply = dict(zip(problem.brand_codes.tolist(), problem.supply.tolist()))
    # step 1 in DOMAIN's words; step 2 is the volume definition on it (caps and supply as given)
    by_retailer: dict[str, dict[str, int]] = {}
    for (r, b), q in demand.items():
        by_retailer.setdefault(r, {})[b] = q
    cut = oracle_cut(by_retailer, caps)
    first = _instance(cut, supply, caps, weights)
    assert cert.cut.volume == lp_max_volume(first)
    x_first = _by_key(first, allocate(first).allocated)
    # step 3: what is left of each line, cap and supply
    used_r, used_b = {}, {}
    for (r, b), v in x_first.items():
        used_r[r] = used_r.get(r, 0) + v
        used_b[b] = used_b.get(b, 0) + v
    left = {k: q - x_first.get(k, 0) for k, q in demand.items()}
    second = _instance(left, {b: s - used_b.get(b, 0) for b, s in supply.items()},
                       {r: c - used_r.get(r, 0) for r, c in caps.items()}, weights)
    assert cert.refill.volume == lp_max_volume(second)
    x_second = _by_key(second, allocate(second).allocated)
    assert _by_key(problem, x) == {k: x_first.get(k, 0) + x_second.get(k, 0) for k in demand}
    # the whole, against the original
    assert brute_feasible(problem, x)
    assert cert.volume == int(x.sum()) <= lp_max_volume(problem) == cert.volume_policy_max
    assert cert.volume_cost == (round(1 - cert.volume / cert.volume_policy_max, 6) if cert.volume_policy_max else 0)
    assert list(result.allocations.reason.astype(str)) == expected_reason(problem, x)
    assert cert.passes and cert.cut.fairness_violations == cert.refill.fairness_violations == 0
    assert brute_violations(first, allocate(first).allocated) == {"between_retailers": 0, "within_retailer": 0}


@settings(max_examples=40, deadline=None)
@given(cycles(max_retailers=6, max_specs=5), st.randoms(use_true_random=False))
def test_same_output_under_any_row_order(cycle, rnd):
    demand, supply, caps = cycle
    first = allocate(Problem.from_frames(demand, supply, caps), priority="choice")
    shuffled = [f.iloc[rnd.sample(range(len(f)), len(f))].reset_index(drop=True) for f in (demand, supply, caps)]
    again = allocate(Problem.from_frames(*shuffled), priority="choice")
    pd.testing.assert_frame_equal(first.allocations, again.allocations)
    assert first.certificate.as_json() == again.certificate.as_json()


@settings(max_examples=40, deadline=None)
@given(cycles(max_retailers=5, max_specs=4))
def test_the_volume_priority_is_unchanged_and_never_below_choice(cycle):
    problem = Problem.from_frames(*cycle)
    default, named = allocate(problem), allocate(problem, priority="volume")
    pd.testing.assert_frame_equal(default.allocations, named.allocations)
    shown = named.certificate.as_json()
    assert shown["priority"] == "volume" and shown["volume_cost"] == 0
    assert shown["volume_policy_max"] == shown["max_volume"] == shown["volume"]
    assert allocate(problem, priority="choice").certificate.volume <= named.certificate.volume


def test_a_step_failing_its_certificate_writes_nothing(tmp_path):
    problem = Problem.from_frames(*frames([("A", "x", 4), ("B", "x", 5)], [("x", 4)], [("A", 2), ("B", 50)]))

    def greedy(p):  # every line in full: over supply, so the first step's certificate refuses it
        return Solution(p.line_demand.copy())

    out = tmp_path / "a.csv"
    with pytest.raises(CertificateFailed) as failed:
        allocate_to_file(problem, out, solve=greedy, priority="choice")
    assert not failed.value.certificate.passes and not failed.value.certificate.feasible
    assert list(tmp_path.iterdir()) == []
    allocate_to_file(problem, out, priority="choice")
    # A's 4 cut to 2 (ranks 0, 1/2) shares x with B's 5 (0, 1/5, 2/5, ...): A 1, B 3; no x is left to refill
    assert out.read_text().splitlines()[1:] == ["A,x,4,1,supply", "B,x,5,3,supply"]


def test_an_unknown_priority_is_refused():
    with pytest.raises(ValueError):
        allocate(Problem.from_frames(*frames([("A", "x", 1)], [("x", 1)], [("A", 1)])), priority="fairness")
