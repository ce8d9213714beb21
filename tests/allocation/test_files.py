"""Files in and out: identifiers survive, the writer agrees with the csv module, output appears whole or not at all."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation import files
from allocation.files import read_input, read_inputs, write_allocations, write_csv_atomic
from allocation.engine import allocate
from allocation.problem import Problem, ProblemError


def write(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_ids_are_text_and_keep_leading_zeros(tmp_path):
    f = read_input(write(tmp_path / "d.csv", "retailer_id,brand_code,quantity\n000123,0042,5\n"), "demand")
    assert f.loc[0, "retailer_id"] == "000123" and f.loc[0, "brand_code"] == "0042"
    assert int(f.loc[0, "quantity"]) == 5


def test_byte_order_mark_and_padded_header(tmp_path):
    f = read_input(write(tmp_path / "c.csv", "\ufeffretailer_id , cap\n01,3\n"), "caps")
    assert list(f.columns) == ["retailer_id", "cap"] and f.loc[0, "retailer_id"] == "01"


@pytest.mark.parametrize("text, line, words", [
    ("", 1, "the file is empty"),
    ("retailer_id,brand_code,quantity\nA,x,1\nA,y,1,9\n", 3, "not a well-formed CSV row"),
])
def test_unreadable_files_cite_the_line(tmp_path, text, line, words):
    with pytest.raises(ProblemError) as info:
        read_input(write(tmp_path / "d.csv", text), "demand")
    e = info.value.errors[0]
    assert (e["input"], e["line"]) == ("demand", line) and words in e["message"]


def test_not_utf8(tmp_path):
    with pytest.raises(ProblemError) as info:
        read_input(write(tmp_path / "d.csv", "retailer_id,brand_code,quantity\n零售,x,1\n", "gbk"), "demand")
    assert "not UTF-8" in info.value.errors[0]["message"]


def test_missing_files_are_all_reported(tmp_path):
    s = write(tmp_path / "s.csv", "brand_code,quantity\nx,1\n")
    with pytest.raises(ProblemError) as info:
        read_inputs(tmp_path / "nope.csv", s, tmp_path / "gone.csv")
    assert [e["input"] for e in info.value.errors] == ["demand", "caps"]
    assert all("file not found" in e["message"] for e in info.value.errors)


texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, texts, st.integers(0, 10_000), st.integers(-5, 2_000_000)), max_size=30))
def test_writer_agrees_with_the_csv_module(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("w") / "out.csv"
    frame = pd.DataFrame(rows, columns=["a", "b", "n", "m"]).astype({"n": np.int64, "m": np.int64})
    write_csv_atomic(path, frame, durable=False)
    expected = io.StringIO()
    w = csv.writer(expected, lineterminator="\n")
    w.writerow(frame.columns)
    w.writerows(frame.itertuples(index=False))
    assert path.read_bytes().decode("utf-8") == expected.getvalue()


def test_writer_over_many_chunks_and_categoricals(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_CHUNK_ROWS", 7)
    ids = pd.Categorical.from_codes(np.arange(50) % 3, categories=["0001", "a,b", "中华(硬)"])
    frame = pd.DataFrame({"retailer_id": ids, "allocated": np.arange(50)})
    write_csv_atomic(tmp_path / "o.csv", frame)
    back = pd.read_csv(tmp_path / "o.csv", dtype={"retailer_id": str})
    assert back.retailer_id.tolist() == [str(v) for v in ids] and back.allocated.tolist() == list(range(50))


def test_output_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "alloc.csv"

    def broken(fh, frame):
        fh.write(b"half a row")
        raise OSError("disk full")

    monkeypatch.setattr(files, "_write_rows", broken)
    with pytest.raises(OSError):
        write_csv_atomic(target, pd.DataFrame({"a": [1]}))
    assert list(tmp_path.iterdir()) == []


def test_old_output_stays_until_the_new_one_is_complete(tmp_path, monkeypatch):
    target = write(tmp_path / "alloc.csv", "old\n")
    monkeypatch.setattr(files, "_write_rows", lambda fh, frame: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_csv_atomic(target, pd.DataFrame({"a": [1]}))
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["alloc.csv"]


def test_allocations_round_trip(tmp_path):
    d = write(tmp_path / "d.csv", "retailer_id,brand_code,quantity\n002,x,4\n001,x,6\n001,\"y,1\",2\n")
    s = write(tmp_path / "s.csv", "brand_code,quantity\nx,5\n\"y,1\",9\n")
    c = write(tmp_path / "c.csv", "retailer_id,cap,weight\n001,100,\n002,100,1.5\n")
    result = allocate(Problem.from_frames(*read_inputs(d, s, c)))
    out = tmp_path / "a.csv"
    write_allocations(out, result.allocations)
    back = pd.read_csv(out, dtype={"retailer_id": str, "brand_code": str})
    assert list(back.columns) == ["retailer_id", "brand_code", "demanded", "allocated", "reason"]
    assert back.values.tolist() == [["001", "x", 6, 3, "supply"], ["001", "y,1", 2, 2, "full"],
                                    ["002", "x", 4, 2, "supply"]]


ID_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=0, max_size=6)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(ID_TEXT, ID_TEXT, st.sampled_from(["3", "0", "10000", "-1", "2.0", "", " 4", "x", "1e2"])),
                     min_size=1, max_size=8))
def test_the_columnar_reader_reads_what_the_careful_reader_reads(tmp_path_factory, rows):
    """Arrow's reader is only a faster road: every file it takes gives the problem (or the faults) the pandas one gives."""
    folder = tmp_path_factory.mktemp("read")
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([("retailer_id", "brand_code", "quantity"), *rows])
    d = write(folder / "d.csv", text.getvalue())
    s = write(folder / "s.csv", "brand_code,quantity\n" + "".join(f'"{b.replace(chr(34), 2 * chr(34))}",5\n'
                                                                  for b in sorted({r[1] for r in rows})))
    c = write(folder / "c.csv", "retailer_id,cap\n" + "".join(f'"{r.replace(chr(34), 2 * chr(34))}",7\n'
                                                              for r in sorted({r[0] for r in rows})))

    def problem_or_faults():
        try:
            p = Problem.from_frames(*read_inputs(d, s, c))
        except ProblemError as exc:
            return exc.errors
        assert p.retailer_ids.tolist() == sorted(p.retailer_ids.tolist())  # canonical order is Python's
        assert p.brand_codes.tolist() == sorted(p.brand_codes.tolist())
        return [p.retailer_ids.tolist(), p.brand_codes.tolist(), p.line_retailer.tolist(), p.line_spec.tolist(),
                p.line_demand.tolist(), p.cap.tolist(), p.supply.tolist(), p.zero_lines]

    fast = problem_or_faults()
    original = files._read_columnar
    files._read_columnar = lambda *args: None
    try:
        careful = problem_or_faults()
    finally:
        files._read_columnar = original
    assert fast == careful


def test_blank_lines_are_skipped_and_faults_keep_their_file_lines(tmp_path):
    d = write(tmp_path / "d.csv", "retailer_id,brand_code,quantity\nA,x,1\n\nA,y,-3\n\nA,x,2\n\n")
    s = write(tmp_path / "s.csv", "brand_code,quantity\n\nx,5\ny,5\n")
    c = write(tmp_path / "c.csv", "retailer_id,cap\nA,9\n")
    with pytest.raises(ProblemError) as info:
        Problem.from_frames(*read_inputs(d, s, c))
    faults = {(e["line"], e["message"]) for e in info.value.errors}
    assert (4, "quantity -3 is negative") in faults
    assert any(line == 6 and "(first at line 2)" in message for line, message in faults), faults


def test_a_file_with_blank_lines_reads_as_the_same_problem(tmp_path):
    plain = [write(tmp_path / f"{n}.csv", t) for n, t in (
        ("d", "retailer_id,brand_code,quantity\nA,x,1\nB,x,4\n"), ("s", "brand_code,quantity\nx,3\n"),
        ("c", "retailer_id,cap\nA,9\nB,9\n"))]
    spaced = [write(tmp_path / f"{n}2.csv", p.read_text().replace("\n", "\n\n", 2)) for n, p in zip("dsc", plain)]
    a, b = (allocate(Problem.from_frames(*read_inputs(*paths))) for paths in (plain, spaced))
    assert a.allocated.tolist() == b.allocated.tolist() and a.certificate == b.certificate
