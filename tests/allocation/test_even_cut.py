"""The even cut against hand-worked cases and a plain carton-by-carton oracle with exact fractions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.even_cut import even_cut
from allocation.problem import Problem
from tests.worlds.oracles import oracle_cut


def cut_of(rows: list[tuple[str, str, int]], caps: dict[str, int]) -> dict[tuple[str, str], int]:
    """The module's cut through a validated problem, keyed like the oracle (lines of 0 included as 0)."""
    demand = pd.DataFrame(rows, columns=["retailer_id", "brand_code", "quantity"])
    cap_frame = pd.DataFrame(list(caps.items()), columns=["retailer_id", "cap"])
    p = Problem.from_frames(demand, pd.DataFrame(columns=["brand_code", "quantity"]), cap_frame)
    got = even_cut(p.line_retailer, p.line_demand, p.cap)
    out = {(rid, bc): 0 for rid, bc, _ in rows}
    out.update({(p.retailer_ids[r], p.brand_codes[b]): int(q)
                for r, b, q in zip(p.line_retailer.tolist(), p.line_spec.tolist(), got.tolist())})
    return out


def test_an_order_within_its_cap_is_untouched():
    rows = [("A", "x", 7), ("A", "y", 3), ("B", "x", 5)]
    assert cut_of(rows, {"A": 10, "B": 50}) == {("A", "x"): 7, ("A", "y"): 3, ("B", "x"): 5}


def test_a_small_line_gets_its_first_carton_before_a_large_line_its_second():
    # ranks: x (d=10) 0, .1, .2, ...; y (d=1) 0. Cap 2 keeps x0 and y0, not x's second carton at .1
    assert cut_of([("A", "x", 10), ("A", "y", 1)], {"A": 2}) == {("A", "x"): 1, ("A", "y"): 1}
    # cap 3: x0, y0, then x at .1 before y's second carton at .5 (y = 2)
    assert cut_of([("A", "x", 10), ("A", "y", 2)], {"A": 3}) == {("A", "x"): 2, ("A", "y"): 1}
    # cap 7 over 10 and 2: x0..x.5 (6 cartons, .5 tied with y's second, x < y by brand_code) and y0
    assert cut_of([("A", "x", 10), ("A", "y", 2)], {"A": 7}) == {("A", "x"): 6, ("A", "y"): 1}
    assert cut_of([("A", "x", 10), ("A", "y", 2)], {"A": 8}) == {("A", "x"): 6, ("A", "y"): 2}


def test_ties_go_by_brand_code_not_by_row_order():
    rows = [("A", "02", 3), ("A", "01", 3)]  # both rank 0, 1/3, 2/3; the fifth-ranked carton is a tie at 2/3
    assert cut_of(rows, {"A": 3}) == {("A", "01"): 2, ("A", "02"): 1}
    assert cut_of(rows[::-1], {"A": 3}) == {("A", "01"): 2, ("A", "02"): 1}
    assert cut_of(rows, {"A": 5}) == {("A", "01"): 3, ("A", "02"): 2}
    # string order, as the ids are kept: "10" sorts before "9"
    assert cut_of([("A", "9", 1), ("A", "10", 1)], {"A": 1}) == {("A", "10"): 1, ("A", "9"): 0}


def test_a_cap_of_zero_keeps_nothing():
    assert cut_of([("A", "x", 4), ("A", "y", 1), ("B", "x", 2)], {"A": 0, "B": 2}) == {
        ("A", "x"): 0, ("A", "y"): 0, ("B", "x"): 2}


def test_the_cut_is_near_proportional_and_sums_to_the_cap():
    rows = [("A", f"{i:02d}", d) for i, d in enumerate([10_000, 9_999, 1, 2, 3, 5_000, 7])]
    got = cut_of(rows, {"A": 12_345})
    assert got == oracle_cut({"A": {bc: d for _, bc, d in rows}}, {"A": 12_345})
    assert sum(got.values()) == 12_345


@st.composite
def orders(draw):
    n_r = draw(st.integers(1, 6))
    rows, caps = [], {}
    for i in range(n_r):
        rid = f"r{i}"
        specs = draw(st.lists(st.sampled_from([f"{j:02d}" for j in range(8)]), min_size=1, max_size=6, unique=True))
        quantities = [draw(st.one_of(st.integers(0, 12), st.integers(0, 400))) for _ in specs]
        rows += [(rid, bc, q) for bc, q in zip(specs, quantities)]
        total = sum(quantities)
        caps[rid] = draw(st.one_of(st.integers(0, total + 2), st.just(0), st.just(max(total - 1, 0))))
    return rows, caps


@settings(max_examples=200, deadline=None)
@given(orders(), st.randoms(use_true_random=False))
def test_matches_the_carton_by_carton_oracle_in_any_row_order(case, rnd):
    rows, caps = case
    by_retailer: dict[str, dict[str, int]] = {}
    for rid, bc, q in rows:
        by_retailer.setdefault(rid, {})[bc] = q
    expected = oracle_cut(by_retailer, caps)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert cut_of(shuffled, caps) == expected


def test_arrays_in_any_retailer_order_and_large_quantities():
    rng = np.random.default_rng(7)
    n_lines, n_r = 2_000, 400
    r = rng.integers(0, n_r, n_lines)
    d = rng.integers(0, 10_001, n_lines)
    total = np.bincount(r, weights=d, minlength=n_r).astype(np.int64)
    cap = (total * rng.uniform(0, 1.2, n_r)).astype(np.int64)
    got = even_cut(r, d, cap)
    assert ((got >= 0) & (got <= d)).all()
    kept = np.bincount(r, weights=got, minlength=n_r).astype(np.int64)
    assert (kept == np.minimum(total, cap)).all()
    for rid in rng.choice(n_r, 4, replace=False).tolist():
        idx = np.flatnonzero(r == rid)
        lines = {f"{i:05d}": int(d[i]) for i in idx}  # index order is the tie order the arrays are given in
        want = oracle_cut({"A": lines}, {"A": int(cap[rid])})
        assert [want[("A", f"{i:05d}")] for i in idx] == got[idx].tolist()
