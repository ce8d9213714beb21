"""The fill-ratio histogram: hand-computed buckets, and the copy a run keeps equals a count over its rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from models.summary import FILL_BUCKETS, fill_counts


def test_buckets_by_hand():
    demanded = [10, 10, 10, 10, 3, 7, 0, 1]
    allocated = [0, 1, 5, 10, 2, 6, 0, 1]
    # 0 -> none; 1/10 -> 10-20 %; 5/10 -> 50-60 %; full; 2/3 -> 60-70 %; 6/7 -> 80-90 %; d = 0 left out; full
    expected = [0] * FILL_BUCKETS
    for b in (0, 2, 6, 11, 7, 9, 11):
        expected[b] += 1
    assert fill_counts(np.array(demanded), np.array(allocated)) == expected


@given(st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 100)), max_size=50))
def test_every_line_with_demand_lands_in_the_bucket_of_its_ratio(lines):
    d = np.array([x for x, _ in lines], dtype=np.int64)
    a = np.array([x * p // 100 for x, p in lines], dtype=np.int64)
    counts = fill_counts(d, a)
    assert sum(counts) == len(lines)
    for di, ai in zip(d, a):
        ratio = ai / di
        bucket = 0 if ai == 0 else FILL_BUCKETS - 1 if ai == di else int(ratio * 10 + 1e-12) + 1
        assert counts[bucket] >= 1
