"""`tobacco-alloc accuracy` end to end: the files it writes, and what it refuses without writing anything."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from api.commands.accuracy import accuracy

BRANDS = (
    "brand_code,name,price_class,wholesale_price,is_key\n"
    "001,中华(硬),1,450,1\n"
    "002,红塔山(软),3,60,0\n"
    "003,白沙(硬),3,45,true\n"
)
# m 007, cycle 2025-03-03: 001 F 10 A 8; 002 F 5 A 0; 003 F 0 A 4.
# m 008, cycle 2025-03-03: 001 F 4 (no actual).  cycle 2025-03-10: 001 F 4 A 6.
FORECASTS = (
    "manager_id,period,brand_code,quantity\n"
    "007,2025-03-03,001,10\n"
    "007,2025-03-03,002,5\n"
    "008,2025-03-03,001,4\n"
    "008,2025-03-10,001,4\n"
)
ACTUALS = "manager_id,period,brand_code,quantity\n007,2025-03-03,001,8\n007,2025-03-03,003,4\n008,2025-03-10,001,6\n"


def cli() -> typer.Typer:
    """Registers the command the way api/cli.py does, as a subcommand of a group."""
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("accuracy")(accuracy)
    return app


def inputs(tmp_path: Path, forecasts: str = FORECASTS, actuals: str = ACTUALS, brands: str = BRANDS):
    for name, text in [("f.csv", forecasts), ("a.csv", actuals), ("b.csv", brands)]:
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / "f.csv", tmp_path / "a.csv", tmp_path / "b.csv"


def run(tmp_path: Path, *extra: str, **texts: str):
    f, a, b = inputs(tmp_path, **texts)
    args = ["accuracy", "--forecasts", str(f), "--actuals", str(a), "--brands", str(b)]
    return CliRunner().invoke(cli(), [*args, "--out", str(tmp_path / "out"), *extra])


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"manager_id": str, "period": str, "brand_code": str})


def test_good_run_writes_both_files(tmp_path):
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["by_manager.csv", "by_spec.csv"]
    by_spec = read(out / "by_spec.csv")
    assert list(by_spec.columns) == ["manager_id", "period", "brand_code", "forecast", "actual", "accuracy"]
    # 001: 1 − 2/8 = 0.75; 002: A = 0, F = 5 -> 0; 003: 1 − 4/4 = 0; 008/001 w1: A = 0, F = 4 -> 0;
    # 008/001 w2: 1 − 2/6 = 2/3.
    assert by_spec.values.tolist() == [
        ["007", "2025-03-03", "001", 10, 8, 0.75],
        ["007", "2025-03-03", "002", 5, 0, 0.0],
        ["007", "2025-03-03", "003", 0, 4, 0.0],
        ["008", "2025-03-03", "001", 4, 0, 0.0],
        ["008", "2025-03-10", "001", 4, 6, pytest.approx(2 / 3)],
    ]
    text = (out / "by_manager.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == (
        "manager_id,period,single_brand_accuracy,total_accuracy,"
        "key_single_brand_accuracy,key_total_accuracy,bias,rank"
    )
    # 007 w1: single 1 − (2 + 5 + 4)/12 = 1/12; total 1 − |12 − 15|/12 = 0.75;
    #   key (001, 003): single 1 − (2 + 4)/12 = 0.5, total 1 − |12 − 10|/12 = 5/6; bias (15 − 12)/12 = 0.25.
    # 008 w1: ΣA = 0, ΣF = 4 -> 0, 0, key 0, 0, bias empty; ranks 2 behind 1/12.
    # 008 w2: 1 − 2/6 = 2/3 for all four; bias (4 − 6)/6 = −1/3; alone in its cycle, rank 1.
    by_manager = read(out / "by_manager.csv")
    rows = {(r.manager_id, r.period): r for r in by_manager.itertuples()}
    r = rows[("007", "2025-03-03")]
    assert (r.single_brand_accuracy, r.total_accuracy) == (pytest.approx(1 / 12), 0.75)
    assert (r.key_single_brand_accuracy, r.key_total_accuracy) == (0.5, pytest.approx(5 / 6))
    assert (r.bias, r.rank) == (0.25, 1)
    assert text[2] == "008,2025-03-03,0.0,0.0,0.0,0.0,,2"
    r = rows[("008", "2025-03-10")]
    assert (r.single_brand_accuracy, r.bias, r.rank) == (pytest.approx(2 / 3), pytest.approx(-1 / 3), 1)
    assert "008" in result.stdout and "66.67%" in result.stdout  # the last cycle's ranking is shown


def test_pool_month_adds_by_range_without_netting_weeks(tmp_path):
    result = run(tmp_path, "--pool", "month")
    assert result.exit_code == 0, result.output
    by_range = read(tmp_path / "out" / "by_range.csv")
    # 008 in 2025-03: w1 F 4 A 0 (error 4), w2 F 4 A 6 (error 2): 1 − 6/6 = 0 for single and total
    # (netting the month's totals would give 1 − |6 − 8|/6 = 2/3); bias (8 − 6)/6 = 1/3.
    r = by_range[by_range["manager_id"] == "008"].iloc[0]
    assert (r["period"], r["single_brand_accuracy"], r["total_accuracy"]) == ("2025-03", 0.0, 0.0)
    assert r["bias"] == pytest.approx(1 / 3) and r["rank"] == 2
    assert "2025-03" in result.stdout


def test_pool_with_cycle_names_uses_the_periods_file(tmp_path):
    rename = {"2025-03-03": "C10", "2025-03-10": "C11"}
    f, a = FORECASTS, ACTUALS
    for old, new in rename.items():
        f, a = f.replace(old, new), a.replace(old, new)
    (tmp_path / "p.csv").write_text("period,start_date\nC10,2025-03-03\nC11,2025-03-31\n")
    result = run(tmp_path, "--pool", "month", "--periods", str(tmp_path / "p.csv"), forecasts=f, actuals=a)
    assert result.exit_code == 0, result.output
    by_range = read(tmp_path / "out" / "by_range.csv")
    assert sorted(set(by_range["period"])) == ["2025-03"]  # C11 starts on 31 March


BAD = [
    ("forecasts", "manager_id,period,quantity\n007,w,1\n", "f.csv", "line 1", "brand_code"),
    ("forecasts", FORECASTS + "009,2025-03-03,001,-2\n", "f.csv", "line 6", "negative"),
    ("actuals", ACTUALS + "009,2025-03-03,001,1.5\n", "a.csv", "line 5", "not a whole number"),
    ("actuals", ACTUALS + "007,2025-03-03,001,1\n", "a.csv", "line 5", "duplicate"),
    ("forecasts", FORECASTS + "009,2025-03-03,999,1\n", "f.csv", "line 6", "'999' is not a spec"),
    ("brands", BRANDS + "004,x,1,1,maybe\n", "b.csv", "line 5", "is_key"),
]


@pytest.mark.parametrize(("which", "text", "file", "line", "words"), BAD)
def test_bad_input_exits_nonzero_naming_file_and_line_and_writes_nothing(
    tmp_path, which, text, file, line, words
):
    result = run(tmp_path, **{which: text})
    assert result.exit_code == 2
    assert file in result.stderr and line in result.stderr and words in result.stderr
    assert not (tmp_path / "out").exists()
    assert result.stdout == ""


def test_missing_file_and_unpoolable_periods_write_nothing(tmp_path):
    _, a, b = inputs(tmp_path)
    args = ["accuracy", "--forecasts", str(tmp_path / "gone.csv"), "--actuals", str(a), "--brands", str(b)]
    result = CliRunner().invoke(cli(), [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "gone.csv" in result.stderr and "not found" in result.stderr
    result = run(tmp_path, "--pool", "month", forecasts=FORECASTS.replace("2025-03-10", "week 11"))
    assert result.exit_code == 2 and "'week 11' is not a date" in result.stderr
    result = run(tmp_path, "--pool", "year")
    assert result.exit_code == 2 and "month, quarter, all" in result.stderr
    assert not (tmp_path / "out").exists()


def test_output_that_cannot_be_a_directory_is_refused(tmp_path):
    (tmp_path / "out").write_text("a file")
    result = run(tmp_path)
    assert result.exit_code == 2 and "out" in result.stderr
    assert (tmp_path / "out").read_text() == "a file"
