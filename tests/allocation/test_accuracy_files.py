"""The accuracy files: what is refused (with file, line and column) and that outputs appear whole or not at all."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocation import accuracy_files
from allocation.accuracy_files import (
    InputFileError,
    read_brands,
    read_period_starts,
    read_quantities,
    write_files,
)

HEADER = "manager_id,period,brand_code,quantity\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def refused(path: Path, **kw) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read_quantities(path, **kw)
    assert str(path) in str(info.value)
    return info.value


def test_reads_ids_as_text_keeping_leading_zeros_and_skips_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "f.csv",
        "\ufeff" + HEADER + "0071, 2025-03-03 ,001,10\n\n0072,2025-03-03,010,0\n",
    )
    got = read_quantities(path, brand_codes={"001", "010"})
    assert got.values.tolist() == [["0071", "2025-03-03", "001", 10], ["0072", "2025-03-03", "010", 0]]
    assert got["quantity"].dtype == np.int64


def test_extra_columns_are_ignored(tmp_path):
    path = write(tmp_path, "f.csv", "note,manager_id,period,brand_code,quantity\nx,m,w,b,3\n")
    assert read_quantities(path).values.tolist() == [["m", "w", "b", 3]]


def test_missing_column_names_line_one(tmp_path):
    err = refused(write(tmp_path, "f.csv", "manager_id,period,quantity\nm,w,3\n"))
    assert err.line == 1 and "brand_code" in err.problem
    assert "line 1" in str(err)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("-3", "negative"),
        ("2.5", "not a whole number"),
        ("1e3", "not a whole number"),
        ("ten", "not a number"),
        ("", "empty quantity"),
        ("10000001", "above the maximum"),
        ("99999999999999999999999", "above the maximum"),
    ],
)
def test_bad_quantity_names_line_and_column(tmp_path, value, words):
    # line 1 header, line 2 good, line 3 bad
    err = refused(write(tmp_path, "f.csv", HEADER + f"m,w,a,1\nm,w,b,{value}\n"))
    assert (err.line, err.column) == (3, "quantity")
    assert words in err.problem
    assert "line 3, column quantity" in str(err)


def test_leading_zeros_in_a_quantity_are_just_a_number(tmp_path):
    path = write(tmp_path, "f.csv", HEADER + "m,w,a,0000000000007\n")
    assert read_quantities(path)["quantity"].tolist() == [7]


def test_line_numbers_count_blank_lines(tmp_path):
    err = refused(write(tmp_path, "f.csv", HEADER + "m,w,a,1\n\n\nm,w,b,-1\n"))
    assert err.line == 5


def test_more_bad_lines_are_counted(tmp_path):
    err = refused(write(tmp_path, "f.csv", HEADER + "m,w,a,-1\nm,w,b,-2\nm,w,c,-3\n"))
    assert err.line == 2 and err.total == 3 and [f.line for f in err.faults] == [2, 3, 4]
    assert "f.csv, line 4, column quantity: -3 is negative" in str(err)


def test_empty_identifier_is_refused(tmp_path):
    err = refused(write(tmp_path, "f.csv", HEADER + "m,w,a,1\n,w,b,1\n"))
    assert (err.line, err.column) == (3, "manager_id")


def test_duplicate_key_names_both_lines(tmp_path):
    err = refused(write(tmp_path, "f.csv", HEADER + "m,w,a,1\nm,w,b,1\nm,w,a,2\n"))
    assert err.line == 4 and "first given on line 2" in err.problem and "duplicate" in err.problem


def test_same_spec_in_another_period_or_manager_is_not_a_duplicate(tmp_path):
    path = write(tmp_path, "f.csv", HEADER + "m,w1,a,1\nm,w2,a,1\nn,w1,a,1\n")
    assert len(read_quantities(path)) == 3


def test_unknown_brand_is_refused(tmp_path):
    err = refused(write(tmp_path, "f.csv", HEADER + "m,w,001,1\nm,w,1,1\n"), brand_codes={"001"})
    assert (err.line, err.column) == (3, "brand_code") and "'1'" in err.problem


def test_too_many_fields_names_the_line(tmp_path):
    err = refused(write(tmp_path, "f.csv", HEADER + "m,w,a,1\nm,w,b,1,9\n"))
    assert err.line == 3 and "5 fields" in err.problem
    err = refused(write(tmp_path, "g.csv", HEADER + "m,w,a,1,9\n"))
    assert err.line == 2


def test_unreadable_files(tmp_path):
    assert "not found" in refused(tmp_path / "nope.csv").problem
    assert "no header" in refused(write(tmp_path, "e.csv", "")).problem
    bad = tmp_path / "b.csv"
    bad.write_bytes(HEADER.encode() + b"m,w,\xff\xfe,1\n")
    assert "UTF-8" in refused(bad).problem


BRANDS = "brand_code,name,price_class,wholesale_price,is_key\n"


def test_brands_is_key_accepts_one_zero_true_false(tmp_path):
    path = write(
        tmp_path, "b.csv", BRANDS + "01,中华(硬),1,450,1\n02,a,2,80,0\n03,b,3,40,TRUE\n04,c,3,40,false\n"
    )
    got = read_brands(path)
    assert got["brand_code"].tolist() == ["01", "02", "03", "04"]
    assert got["is_key"].tolist() == [True, False, True, False]
    assert got["name"].iloc[0] == "中华(硬)"


def test_brands_refuses_other_flags_duplicates_and_missing_columns(tmp_path):
    with pytest.raises(InputFileError) as info:
        read_brands(write(tmp_path, "b.csv", BRANDS + "01,a,1,450,1\n02,b,1,450,yes\n"))
    assert (info.value.line, info.value.column) == (3, "is_key")
    with pytest.raises(InputFileError) as info:
        read_brands(write(tmp_path, "b.csv", BRANDS + "01,a,1,450,1\n01,b,1,450,0\n"))
    assert info.value.line == 3 and "duplicate" in info.value.problem
    with pytest.raises(InputFileError) as info:
        read_brands(write(tmp_path, "b.csv", "brand_code,name,is_key\n01,a,1\n"))
    assert info.value.line == 1 and "price_class" in info.value.problem


def test_period_starts(tmp_path):
    path = write(tmp_path, "p.csv", "period,start_date\nC01,2025-01-06\nC02,2025-01-13\n")
    assert read_period_starts(path) == {"C01": date(2025, 1, 6), "C02": date(2025, 1, 13)}
    with pytest.raises(InputFileError) as info:
        read_period_starts(write(tmp_path, "q.csv", "period,start_date\nC01,6/1/2025\n"))
    assert (info.value.line, info.value.column) == (2, "start_date")


# ---------------------------------------------------------------- writing


def test_writes_every_file_with_empty_cells_for_empty_figures(tmp_path):
    out = tmp_path / "new" / "dir"
    frames = {
        "by_spec.csv": pd.DataFrame({"manager_id": ["007"], "accuracy": [0.5]}),
        "by_manager.csv": pd.DataFrame({"manager_id": ["007"], "bias": [np.nan], "rank": [1]}),
    }
    written = write_files(out, frames)
    assert written == [out / "by_spec.csv", out / "by_manager.csv"]
    assert (out / "by_manager.csv").read_text() == "manager_id,bias,rank\n007,,1\n"
    assert (out / "by_spec.csv").read_text() == "manager_id,accuracy\n007,0.5\n"
    assert sorted(p.name for p in out.iterdir()) == ["by_manager.csv", "by_spec.csv"]


class Exploding(pd.DataFrame):
    """A frame whose writing fails halfway, like a full disk."""

    def to_csv(self, fh, **kw):  # type: ignore[override]
        fh.write("manager_id\n")
        raise OSError(28, "No space left on device")


def test_a_failed_write_leaves_nothing(tmp_path):
    frames = {"by_spec.csv": pd.DataFrame({"a": [1]}), "by_manager.csv": Exploding({"a": [1]})}
    with pytest.raises(OSError):
        write_files(tmp_path, frames)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_leaves_nothing(tmp_path, monkeypatch):
    real_replace = os.replace
    calls = []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "I/O error")
        real_replace(src, dst)

    monkeypatch.setattr(accuracy_files.os, "replace", second_fails)
    frames = {"by_spec.csv": pd.DataFrame({"a": [1]}), "by_manager.csv": pd.DataFrame({"a": [2]})}
    with pytest.raises(OSError):
        write_files(tmp_path, frames)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []
