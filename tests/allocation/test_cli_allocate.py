"""`allocate` as a user meets it: a file written and a summary shown, or a precise complaint and no file."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from api.commands.allocate import allocate

app = typer.Typer()
app.command("allocate")(allocate)
app.command("noop")(lambda: None)  # two commands keep "allocate" a named sub-command, as in the real CLI
runner = CliRunner()


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "demand.csv").write_text("retailer_id,brand_code,quantity\n002,x,4\n001,x,6\n001,y,3\n")
    (tmp_path / "supply.csv").write_text("brand_code,quantity\nx,5\ny,9\n")
    (tmp_path / "caps.csv").write_text("retailer_id,cap\n001,100\n002,100\n")
    return tmp_path


def invoke(folder, out="alloc.csv", *extra, **override):
    paths = {k: str(folder / f"{k}.csv") for k in ("demand", "supply", "caps")}
    paths.update(override)
    return runner.invoke(app, ["allocate", "--demand", paths["demand"], "--supply", paths["supply"],
                               "--caps", paths["caps"], "--out", str(folder / out), *extra])


def test_writes_the_allocation_and_a_summary(inputs):
    result = invoke(inputs)
    assert result.exit_code == 0, result.output
    back = pd.read_csv(inputs / "alloc.csv", dtype={"retailer_id": str})
    assert back.values.tolist() == [["001", "x", 6, 3, "supply"], ["001", "y", 3, 3, "full"],
                                    ["002", "x", 4, 2, "supply"]]
    for words in ("volume", "8 of 13", "maximal volume", "fairness violations", "supply", "timings"):
        assert words in result.stdout


def test_choice_priority_keeps_the_scarce_spec_for_the_capped_retailer_and_shows_its_cost(inputs):
    # 001 (cap 4) wants scarce x 4 and plentiful y 4; 002 wants x 5; x has 4 (worked out in test_choice.py)
    (inputs / "demand.csv").write_text("retailer_id,brand_code,quantity\n001,x,4\n001,y,4\n002,x,5\n")
    (inputs / "supply.csv").write_text("brand_code,quantity\nx,4\ny,10\n")
    (inputs / "caps.csv").write_text("retailer_id,cap\n001,4\n002,50\n")
    volume = invoke(inputs, "volume.csv")
    assert volume.exit_code == 0, volume.output
    assert "priority" in volume.stdout and "0.00%" in volume.stdout
    choice = invoke(inputs, "choice.csv", "--priority", "choice")
    assert choice.exit_code == 0, choice.output
    back = pd.read_csv(inputs / "choice.csv", dtype={"retailer_id": str})
    assert back.values.tolist() == [["001", "x", 4, 1, "cap"], ["001", "y", 4, 3, "cap"], ["002", "x", 5, 3, "supply"]]
    for words in ("choice", "7 of 13", "maximal volume", "8", "12.50%", "step cut", "step refill"):
        assert words in choice.stdout
    wrong = invoke(inputs, "other.csv", "--priority", "fairness")
    assert wrong.exit_code == 2 and not (inputs / "other.csv").exists()


def test_bad_input_names_file_and_line_and_writes_nothing(inputs):
    (inputs / "demand.csv").write_text("retailer_id,brand_code,quantity\n002,x,4\n001,x,-6\n003,y,2\n")
    result = invoke(inputs)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert f"{inputs / 'demand.csv'}, line 3, column quantity: quantity -6 is negative" in lines
    assert f"{inputs / 'demand.csv'}, line 4, column retailer_id: retailer '003' has demand but no row in the " \
           "caps file" in lines
    assert not (inputs / "alloc.csv").exists()


def test_floor_column_in_caps_is_refused(inputs):
    (inputs / "caps.csv").write_text("retailer_id,cap,minimum\n001,100,2\n002,100,1\n")
    result = invoke(inputs)
    assert result.exit_code == 2
    assert f"{inputs / 'caps.csv'}, line 1, column minimum:" in result.stderr
    assert "总量浮动管理" in result.stderr
    assert not (inputs / "alloc.csv").exists()


def test_missing_file(inputs):
    result = invoke(inputs, supply=str(inputs / "nope.csv"))
    assert result.exit_code == 2
    assert "nope.csv: file not found" in result.stderr
    assert not (inputs / "alloc.csv").exists()


def test_bad_input_keeps_an_earlier_output(inputs):
    assert invoke(inputs).exit_code == 0
    before = (inputs / "alloc.csv").read_bytes()
    (inputs / "supply.csv").write_text("brand_code,quantity\nx,five\n")
    result = invoke(inputs)
    assert result.exit_code == 2 and "line 2, column quantity: quantity 'five' is not a number" in result.stderr
    assert (inputs / "alloc.csv").read_bytes() == before


def test_output_folder_must_exist(inputs):
    result = invoke(inputs, out="no/such/folder/alloc.csv")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (inputs / "no").exists()


def test_a_failed_certificate_exits_3_and_writes_nothing(inputs, monkeypatch):
    import allocation.solver

    monkeypatch.setattr(allocation.solver, "solve_lines", lambda problem: allocation.solver.Solution(problem.line_demand.copy()))
    result = invoke(inputs)
    assert result.exit_code == 3 and "failed its own certificate" in result.output
    assert not (inputs / "alloc.csv").exists()


def test_a_write_error_exits_1_and_writes_nothing(inputs, monkeypatch):
    from allocation import files

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.AllocationsFile, "write_temp", full_disk)
    result = invoke(inputs)
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert not (inputs / "alloc.csv").exists()


def test_lines_of_zero_cartons_are_counted_in_the_summary(inputs):
    (inputs / "demand.csv").write_text("retailer_id,brand_code,quantity\n002,x,4\n001,x,0\n001,y,3\n")
    result = invoke(inputs)
    assert result.exit_code == 0 and "(and 1 of 0 cartons, left out)" in result.stdout
