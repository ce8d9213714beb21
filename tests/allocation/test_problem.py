"""Every bad input is refused with its file, line and a sentence; good input keeps its identifiers intact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocation.problem import Problem, ProblemError
from allocation.rows import MAX_SHOWN


def demand(*rows, **extra):
    frame = pd.DataFrame(rows, columns=["retailer_id", "brand_code", "quantity"])
    for k, v in extra.items():
        frame[k] = v
    return frame


SUPPLY = pd.DataFrame({"brand_code": ["x", "y"], "quantity": [10, 10]})
CAPS = pd.DataFrame({"retailer_id": ["A", "B"], "cap": [5, 5]})
DEMAND = demand(("A", "x", 2), ("B", "y", 3))


def errors_of(d=DEMAND, s=SUPPLY, c=CAPS) -> list[dict]:
    with pytest.raises(ProblemError) as info:
        Problem.from_frames(d, s, c)
    return info.value.errors


def one(d=DEMAND, s=SUPPLY, c=CAPS) -> dict:
    errs = errors_of(d, s, c)
    assert len(errs) == 1, errs
    return errs[0]


def test_good_input_keeps_leading_zeros_and_sorts_canonically():
    d = demand(("0010", "007", 1), ("0002", "070", 2), ("0010", "0007", 3))
    s = pd.DataFrame({"brand_code": ["007", "0007"], "quantity": [5, 0]})
    c = pd.DataFrame({"retailer_id": ["0010", "0002", "9"], "cap": [9, 9, 9]})
    p = Problem.from_frames(d, s, c)
    assert p.retailer_ids.tolist() == ["0002", "0010"]
    assert p.brand_codes.tolist() == ["0007", "007", "070"]
    assert p.supply.tolist() == [0, 5, 0]  # 070 is missing from supply: 0
    assert list(zip(p.line_retailer.tolist(), p.line_spec.tolist(), p.line_demand.tolist())) == \
        [(0, 2, 2), (1, 0, 3), (1, 1, 1)]
    assert p.weight_cents.tolist() == [100, 100]


def test_zero_lines_take_no_part_and_need_no_cap():
    p = Problem.from_frames(demand(("A", "x", 2), ("Z", "x", 0)), SUPPLY, CAPS)
    assert p.retailer_ids.tolist() == ["A"] and p.zero_lines == 1 and p.n_lines == 1


def test_weights_in_hundredths():
    c = CAPS.assign(weight=["1.25", ""])
    assert Problem.from_frames(DEMAND, SUPPLY, c).weight_cents.tolist() == [125, 100]


def test_missing_required_column():
    e = one(d=DEMAND.drop(columns="quantity"))
    assert (e["input"], e["line"], e["column"]) == ("demand", 1, "quantity")
    assert "required column 'quantity' is missing" in e["message"]


@pytest.mark.parametrize("value, words", [
    (-1, "-1 is negative"), (2.5, "2.5 is not a whole number"), (10_001, "10001 is above the maximum of 10,000"),
    ("lots", "'lots' is not a number"), ("", "quantity is empty"),
])
def test_bad_quantity(value, words):
    d = demand(("A", "x", 2), ("B", "y", 3)).astype({"quantity": object})
    d.loc[1, "quantity"] = value
    e = one(d=d)
    assert (e["input"], e["line"], e["column"]) == ("demand", 3, "quantity")
    assert words in e["message"]


def test_whole_numbers_written_with_a_decimal_point_are_accepted():
    d = demand(("A", "x", "2.0"), ("B", "y", " 3 "))
    assert Problem.from_frames(d, SUPPLY, CAPS).line_demand.tolist() == [2, 3]


def test_duplicate_line_names_the_first():
    e = one(d=demand(("A", "x", 2), ("B", "y", 3), ("A", "x", 1)))
    assert (e["input"], e["line"]) == ("demand", 4)
    assert "duplicate line for retailer 'A' and spec 'x' (first at line 2)" in e["message"]


def test_retailer_with_demand_but_no_cap():
    e = one(d=demand(("A", "x", 2), ("C", "y", 3), ("C", "x", 1)))
    assert (e["input"], e["line"], e["column"]) == ("demand", 3, "retailer_id")
    assert "retailer 'C' has demand but no row in the caps file" in e["message"]


@pytest.mark.parametrize("column", ["floor", "min_quantity", "minimum", "brand_code", "min_cap", "spec_quota", "Floor"])
def test_caps_refuse_floors_and_per_spec_quantities(column):
    e = one(c=CAPS.assign(**{column: [1, 1]}))
    assert (e["input"], e["line"], e["column"]) == ("caps", 1, column)
    assert "总量浮动管理" in e["message"] and "total-quantity floating management" in e["message"]


@pytest.mark.parametrize("value, words", [
    ("0", "must be above 0"), ("-1", "must be above 0"), ("1.005", "more than 2 decimals"),
    ("heavy", "'heavy' is not a number"), ("20000", "above the maximum"),
])
def test_bad_weight(value, words):
    e = one(c=CAPS.assign(weight=["1", value]))
    assert (e["input"], e["line"], e["column"]) == ("caps", 3, "weight")
    assert words in e["message"]


def test_bad_cap_and_duplicate_cap():
    errs = errors_of(c=pd.DataFrame({"retailer_id": ["A", "B", "A"], "cap": [1_000_001, 5, 3]}))
    assert [(e["line"], e["column"]) for e in errs] == [(2, "cap"), (4, None)]
    assert "above the maximum of 1,000,000" in errs[0]["message"]
    assert "duplicate retailer 'A' (first at line 2)" in errs[1]["message"]


def test_bad_supply_rows():
    errs = errors_of(s=pd.DataFrame({"brand_code": ["x", "", "x"], "quantity": [1, -2, 3]}))
    assert [(e["input"], e["line"], e["column"]) for e in errs] == \
        [("supply", 3, "brand_code"), ("supply", 3, "quantity"), ("supply", 4, None)]
    assert errs[0]["message"] == "brand_code is empty"
    assert "duplicate spec 'x' (first at line 2)" in errs[2]["message"]


def test_blank_and_control_character_ids():
    errs = errors_of(d=demand(("A", "x", 2), ("", "y", 3), ("B", "y\x07", 1)))
    assert [(e["line"], e["column"], e["message"]) for e in errs] == [
        (3, "retailer_id", "retailer_id is empty"), (4, "brand_code", "brand_code contains a control character")]


def test_bad_channel():
    e = one(d=DEMAND.assign(channel=["collected", "phoned"]))
    assert (e["line"], e["column"]) == (3, "channel") and "'phoned'" in e["message"]


def test_all_faults_are_reported_across_files_in_order():
    errs = errors_of(d=demand(("A", "x", -1), ("B", "y", 3)), s=SUPPLY.assign(quantity=[1, "no"]),
                     c=CAPS.assign(cap=[5, 2.5]))
    assert [(e["input"], e["line"]) for e in errs] == [("demand", 2), ("supply", 3), ("caps", 3)]


def test_error_list_is_capped_with_a_total():
    n = 500
    d = pd.DataFrame({"retailer_id": ["A"] * n, "brand_code": [f"s{i}" for i in range(n)],
                      "quantity": np.full(n, -1)})
    with pytest.raises(ProblemError) as info:
        Problem.from_frames(d, SUPPLY, CAPS)
    assert len(info.value.errors) == MAX_SHOWN and info.value.total == n
    assert info.value.errors[0]["line"] == 2
    assert str(info.value).splitlines()[-1] == f"... and {n - MAX_SHOWN} more"
    assert str(info.value).splitlines()[0] == "demand, line 2, column quantity: quantity -1 is negative"


def test_non_string_identifiers_from_a_json_body_are_read_as_text():
    d = pd.DataFrame({"retailer_id": [1, 2], "brand_code": [7, 7], "quantity": [1, 1]})
    c = pd.DataFrame({"retailer_id": [1, 2], "cap": [1, 1]})
    s = pd.DataFrame({"brand_code": [7], "quantity": [1]})
    p = Problem.from_frames(d, s, c)
    assert p.retailer_ids.tolist() == ["1", "2"] and p.brand_codes.tolist() == ["7"]


@pytest.mark.parametrize("d, s, c, where", [
    (DEMAND, pd.DataFrame({"brand_code": ["x", "", ""], "quantity": [1, 2, 3]}), CAPS, "supply"),
    (DEMAND, SUPPLY, pd.DataFrame({"retailer_id": ["A", "B", "", ""], "cap": [5, 5, 1, 1]}), "caps"),
    # (A, blank) and (blank, y) must not meet as one key: a blank id is no duplicate of anything
    (demand(("A", "x", 2), ("A", "", 1), ("", "y", 1), ("B", "y", 3)), SUPPLY, CAPS, "demand"),
])
def test_blank_ids_are_reported_as_empty_never_as_duplicates(d, s, c, where):
    errs = errors_of(d, s, c)
    assert errs and all("is empty" in e["message"] for e in errs), errs
    assert {e["input"] for e in errs} == {where}
