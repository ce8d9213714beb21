"""The one CSV-row toolkit: whole numbers against a plain reading, and how many faults are kept and shown."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from allocation.rows import MAX_REPORTED, MAX_SHOWN, Faults, RowFault, RowFaults, Whole, whole_numbers

CELLS = st.one_of(
    st.integers(-20, 20_000).map(str),
    st.sampled_from(["", " ", " 7 ", "007", "2.5", "-1.5", "1e3", "1.0", "+5", "x", "nan", "inf", "-inf", "1_000",
                     "99999999999999999999999", "１２", "-0"]),
)


def plain(text: str, lo: int, hi: int, decimals_ok: bool) -> tuple[int, Whole]:
    """The rule read one cell at a time with exact decimals: digits are a number; so is any other number whose
    value is whole, where decimals are allowed."""
    t = text.strip()
    if not t:
        return 0, Whole.EMPTY
    if re.fullmatch(r"\d+", t):
        n = int(t)
    else:
        try:
            x = Decimal(t) if "_" not in t else Decimal("nan")
        except InvalidOperation:
            return 0, Whole.NOT_NUMBER
        if x.is_nan():
            return 0, Whole.NOT_NUMBER
        if x.is_infinite():
            return 0, Whole.NEGATIVE if x < 0 else Whole.ABOVE
        if x != x.to_integral_value():
            return 0, Whole.NOT_WHOLE
        if x < 0:
            return 0, Whole.NEGATIVE
        if not decimals_ok:
            return 0, Whole.NOT_WHOLE
        n = int(x)
    if n < lo:
        return 0, Whole.BELOW
    return (0, Whole.ABOVE) if n > hi else (n, Whole.OK)


@given(cells=st.lists(CELLS, max_size=30), lo=st.integers(0, 3), decimals_ok=st.booleans())
def test_text_cells_match_the_plain_reading(cells, lo, decimals_ok):
    values, kind = whole_numbers(pd.Series(cells, dtype=object), 10_000, minimum=lo, decimals_ok=decimals_ok)
    expected = [plain(c, lo, 10_000, decimals_ok) for c in cells]
    assert list(zip(values.tolist(), kind.tolist())) == [(v, int(k)) for v, k in expected]


@given(st.lists(st.integers(-5, 30), max_size=30))
def test_integer_columns_are_judged_by_value(numbers):
    values, kind = whole_numbers(pd.Series(numbers, dtype="int64"), 20, minimum=1)
    for n, v, k in zip(numbers, values.tolist(), kind.tolist()):
        want = Whole.NEGATIVE if n < 0 else Whole.BELOW if n < 1 else Whole.ABOVE if n > 20 else Whole.OK
        assert (k, v) == (want, n if want == Whole.OK else 0)


def test_float_and_arrow_columns():
    values, kind = whole_numbers(pd.Series([1.0, 2.5, np.nan, np.inf, -3.0]), None)
    assert values.tolist() == [1, 0, 0, 0, 0]
    assert kind.tolist() == [Whole.OK, Whole.NOT_WHOLE, Whole.EMPTY, Whole.ABOVE, Whole.NEGATIVE]
    values, kind = whole_numbers(pd.Series(["3", None, "x"], dtype="string"), 5)
    assert values.tolist() == [3, 0, 0] and kind.tolist() == [Whole.OK, Whole.EMPTY, Whole.NOT_NUMBER]


def test_each_check_keeps_its_first_faults_and_counts_all():
    faults = Faults("a.csv", "b.csv")
    faults.rows("b.csv", "x", np.arange(MAX_REPORTED + 5), "bad x")
    faults.rows("a.csv", "y", np.array([False, True, True]), lambda i: f"bad y at {i}")
    faults.add("a.csv", 1, "z", "missing column")
    assert faults.total == MAX_REPORTED + 8 and len(faults.faults) == MAX_REPORTED + 3
    first = faults.sorted()[:4]
    assert [(f.file, f.line) for f in first] == [("a.csv", 1), ("a.csv", 3), ("a.csv", 4), ("b.csv", 2)]
    assert first[1].message == "bad y at 1"


def test_a_person_is_shown_the_first_faults_and_told_how_many_more():
    faults = Faults()
    faults.rows("demand.csv", "quantity", np.arange(120), "quantity -1 is negative",
                lines=np.arange(120) * 2 + 5)
    try:
        faults.raise_if_any()
    except RowFaults as exc:
        text = str(exc).splitlines()
        assert len(text) == MAX_SHOWN + 1 and text[-1] == f"... and {120 - MAX_SHOWN} more"
        assert text[0] == "demand.csv, line 5, column quantity: quantity -1 is negative"
        assert exc.first == RowFault("demand.csv", 5, "quantity", "quantity -1 is negative")
    else:
        raise AssertionError("no faults raised")
    Faults().raise_if_any()  # nothing found: nothing raised
