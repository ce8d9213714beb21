"""Identical-order clusters: every case the definition turns on, by hand, and against a plain-Python judge."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.clusters import clusters, orders_in_clusters

SAME = {"A": 2, "B": 3, "C": 5}


def world(orders: dict[tuple[int, str], tuple[str, dict[str, int]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """{(cycle, retailer): (manager, {spec: quantity})} as the orders and lines frames."""
    o = pd.DataFrame([(c, r, m, sum(lines.values())) for (c, r), (m, lines) in orders.items()],
                     columns=["cycle_id", "retailer_id", "manager_id", "total"])
    rows = [(c, r, b, q) for (c, r), (_, lines) in orders.items() for b, q in lines.items()]
    return o, pd.DataFrame(rows, columns=["cycle_id", "retailer_id", "brand_code", "quantity"])


def found(orders, min_cluster=3, min_lines=3) -> list[dict]:
    return clusters(*world(orders), min_cluster, min_lines).to_dict("records")


def test_exactly_min_cluster_identical_orders_are_one_cluster():
    got = found({(1, "r3"): ("M1", SAME), (1, "r1"): ("M1", SAME), (1, "r2"): ("M1", SAME),
                 (1, "r4"): ("M1", {"A": 1})})
    assert got == [{"cycle_id": 1, "manager_id": "M1", "size": 3, "retailer_ids": ["r1", "r2", "r3"],
                    "lines": [{"brand_code": "A", "quantity": 2}, {"brand_code": "B", "quantity": 3},
                              {"brand_code": "C", "quantity": 5}]}]


@pytest.mark.parametrize("min_cluster", [2, 3, 5])
def test_one_short_of_min_cluster_is_no_cluster(min_cluster):
    short = {(1, f"r{i}"): ("M1", SAME) for i in range(min_cluster - 1)}
    assert found(short, min_cluster) == []
    enough = {**short, (1, "last"): ("M1", SAME)}
    assert [c["size"] for c in found(enough, min_cluster)] == [min_cluster]


def test_identical_orders_of_two_managers_are_no_cluster():
    # four identical orders, but two are M1's and two M2's: neither manager has three
    orders = {(1, "r1"): ("M1", SAME), (1, "r2"): ("M1", SAME), (1, "s1"): ("M2", SAME), (1, "s2"): ("M2", SAME)}
    assert found(orders) == []


def test_identical_orders_in_two_cycles_are_no_cluster():
    orders = {(1, "r1"): ("M1", SAME), (1, "r2"): ("M1", SAME), (2, "r3"): ("M1", SAME)}
    assert found(orders) == []


def test_orders_differing_in_one_quantity_are_not_identical():
    other = {**SAME, "C": 6}
    orders = {(1, "r1"): ("M1", SAME), (1, "r2"): ("M1", SAME), (1, "r3"): ("M1", other)}
    assert found(orders) == []


def test_orders_differing_in_one_spec_with_the_same_total_are_not_identical():
    other = {"A": 2, "B": 3, "D": 5}
    orders = {(1, "r1"): ("M1", SAME), (1, "r2"): ("M1", SAME), (1, "r3"): ("M1", other)}
    assert found(orders) == []


def test_quantity_zero_lines_are_ignored():
    # r2 and r3 carry extra lines of 0: their sets of lines with quantity > 0 equal r1's
    orders = {(1, "r1"): ("M1", SAME), (1, "r2"): ("M1", {**SAME, "Z": 0}), (1, "r3"): ("M1", {"Y": 0, **SAME})}
    assert [c["retailer_ids"] for c in found(orders)] == [["r1", "r2", "r3"]]
    assert found(orders)[0]["lines"] == [{"brand_code": b, "quantity": q} for b, q in sorted(SAME.items())]


def test_orders_with_fewer_than_min_lines_lines_are_never_in_a_cluster():
    two = {"A": 2, "B": 3, "Z": 0}  # two lines above 0: the zero line does not count toward min_lines
    orders = {(1, f"r{i}"): ("M1", two) for i in range(5)}
    assert found(orders, 3, 3) == []
    assert [c["size"] for c in found(orders, 3, 2)] == [5]


def test_orders_of_total_zero_are_no_orders():
    orders = {(1, "r1"): ("M1", SAME), (1, "r2"): ("M1", SAME), (1, "r3"): ("M1", {"A": 0, "B": 0, "C": 0})}
    assert found(orders, 2, 1)[0]["retailer_ids"] == ["r1", "r2"]
    assert found(orders, 3, 1) == []


def test_two_clusters_of_one_manager_and_their_counts():
    other = {"A": 1, "B": 1, "C": 1}
    orders = {**{(1, f"a{i}"): ("M1", SAME) for i in range(3)}, **{(1, f"b{i}"): ("M1", other) for i in range(4)},
              **{(2, f"a{i}"): ("M1", other) for i in range(3)}, (2, "x"): ("M2", other)}
    got = clusters(*world(orders), 3, 3)
    assert [(c, m, s, ids[0]) for c, m, s, ids in got[["cycle_id", "manager_id", "size", "retailer_ids"]]
            .itertuples(index=False)] == [(1, "M1", 3, "a0"), (1, "M1", 4, "b0"), (2, "M1", 3, "a0")]
    counts = orders_in_clusters(got)
    assert counts.to_dict("records") == [{"manager_id": "M1", "cycle_id": 1, "orders_in_clusters": 7},
                                        {"manager_id": "M1", "cycle_id": 2, "orders_in_clusters": 3}]


def test_no_orders_no_clusters():
    assert found({}) == []
    assert orders_in_clusters(clusters(*world({}), 3, 3)).empty


def test_thresholds_are_checked():
    with pytest.raises(ValueError):
        clusters(*world({}), 1, 3)


def judge(orders, min_cluster: int, min_lines: int) -> list[tuple]:
    """A plain-Python reading of the definition: frozensets of (spec, quantity > 0) per order, grouped."""
    groups = defaultdict(list)
    for (cycle, rid), (manager, lines) in orders.items():
        key = frozenset((b, q) for b, q in lines.items() if q > 0)
        if sum(lines.values()) > 0 and len(key) >= min_lines:
            groups[(cycle, manager, key)].append(rid)
    return sorted((c, m, len(r), tuple(sorted(r))) for (c, m, _), r in groups.items() if len(r) >= min_cluster)


ORDER = st.tuples(st.sampled_from(["M1", "M2"]),
                  st.dictionaries(st.sampled_from("ABCD"), st.integers(0, 2), min_size=0, max_size=4))


@settings(max_examples=150, deadline=None)
@given(orders=st.dictionaries(st.tuples(st.integers(1, 2), st.sampled_from([f"r{i}" for i in range(12)])), ORDER,
                              max_size=20),
       min_cluster=st.integers(2, 4), min_lines=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_matches_the_plain_reading_and_row_order_changes_nothing(orders, min_cluster, min_lines, seed):
    o, lines = world(orders)
    got = clusters(o, lines, min_cluster, min_lines)
    shuffled = clusters(o.sample(frac=1, random_state=seed), lines.sample(frac=1, random_state=seed + 1),
                        min_cluster, min_lines)
    pd.testing.assert_frame_equal(got, shuffled)
    assert sorted((c, m, s, tuple(r)) for c, m, s, r in got[["cycle_id", "manager_id", "size", "retailer_ids"]]
                  .itertuples(index=False)) == judge(orders, min_cluster, min_lines)
    for c in got.to_dict("records"):
        expected = sorted((b, q) for b, q in orders[(c["cycle_id"], c["retailer_ids"][0])][1].items() if q > 0)
        assert [(x["brand_code"], x["quantity"]) for x in c["lines"]] == expected
