"""The file pipeline: same bytes as the plain writer, published only with a passing certificate, never half."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from allocation import pipeline
from allocation.baseline import proportional_split
from allocation.certificate import REASONS, certify
from allocation.engine import allocate
from allocation.files import write_allocations
from allocation.pipeline import CertificateFailed, allocate_to_file
from allocation.problem import Problem
from allocation.solver import Solution
from tests.worlds.oracles import cycles


def problem_of(demand, supply, caps) -> Problem:
    return Problem.from_frames(pd.DataFrame(demand, columns=["retailer_id", "brand_code", "quantity"]),
                               pd.DataFrame(supply, columns=["brand_code", "quantity"]),
                               pd.DataFrame(caps, columns=["retailer_id", "cap"]))


QUOTED = problem_of([("001", 'a,"b"', 6), ("002", 'a,"b"', 4), ("002", "z", 3)],
                    [('a,"b"', 5), ("z", 9)], [("001", 100), ("002", 4)])


def plain_bytes(tmp_path, problem: Problem) -> bytes:
    result = allocate(problem)
    write_allocations(tmp_path / "plain.csv", result.allocations)
    return (tmp_path / "plain.csv").read_bytes()


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_same_bytes_as_the_plain_writer_with_quoted_ids(tmp_path):
    run = allocate_to_file(QUOTED, tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == plain_bytes(tmp_path, QUOTED)
    assert run.certificate.fairness_violations == 0 and run.certificate.volume == run.certificate.max_volume
    # every maximal allocation fills 002's z (3 of its cap of 4); spec a is then short for both
    assert [REASONS[c] for c in run.reasons] == ["supply", "cap", "full"]
    assert run.timings.total >= run.timings.write > 0


@settings(max_examples=60, deadline=None)
@given(cycle=cycles())
def test_same_bytes_and_certificate_as_allocate_on_any_cycle(tmp_path_factory, cycle):
    tmp_path = tmp_path_factory.mktemp("pipe")
    problem = Problem.from_frames(*cycle)
    run = allocate_to_file(problem, tmp_path / "a.csv", durable=False)
    reference = allocate(problem)
    assert (tmp_path / "a.csv").read_bytes() == plain_bytes(tmp_path, problem)
    assert np.array_equal(run.allocated, reference.allocated)
    assert run.certificate == reference.certificate


def test_empty_cycle_writes_the_header_only(tmp_path):
    run = allocate_to_file(problem_of([("001", "x", 0)], [("x", 5)], [("001", 3)]), tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text() == "retailer_id,brand_code,demanded,allocated,reason\n"
    assert run.certificate.lines == 0


def test_a_failed_certificate_publishes_nothing_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "a.csv"
    out.write_text("old\n")

    def greedy(problem):  # every line in full: over supply and over cap
        return Solution(problem.line_demand.copy())

    with pytest.raises(CertificateFailed) as failed:
        allocate_to_file(QUOTED, out, solve=greedy)
    assert not failed.value.certificate.feasible
    assert out.read_text() == "old\n" and leftovers(tmp_path) == []


def test_an_unfair_allocation_is_refused_even_at_maximal_volume(tmp_path):
    p = problem_of([("001", "x", 4), ("002", "x", 4)], [("x", 4)], [("001", 9), ("002", 9)])

    def all_to_one(problem):
        return Solution(np.array([4, 0], np.int64))

    with pytest.raises(CertificateFailed) as failed:
        allocate_to_file(p, tmp_path / "a.csv", solve=all_to_one)
    cert = failed.value.certificate
    assert cert.volume == cert.max_volume == 4 and cert.fairness_violations > 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["solve", "check", "render", "write"])
def test_an_error_anywhere_leaves_no_file(tmp_path, monkeypatch, where):
    out = tmp_path / "a.csv"
    out.write_text("old\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    kwargs = {}
    if where == "solve":
        kwargs["solve"] = boom
    elif where == "check":
        kwargs["check"] = boom
    elif where == "render":
        monkeypatch.setattr(pipeline, "_render", boom)
    else:
        monkeypatch.setattr(pipeline.AllocationsFile, "write_temp", boom)
    with pytest.raises(OSError, match="disk full"):
        allocate_to_file(QUOTED, out, **kwargs)
    assert out.read_text() == "old\n" and leftovers(tmp_path) == []


def test_a_baseline_runs_through_the_same_writer_without_a_certificate(tmp_path):
    run = allocate_to_file(QUOTED, tmp_path / "naive.csv", solve=lambda p: Solution(proportional_split(p)),
                           check=None)
    assert run.certificate is None
    back = pd.read_csv(tmp_path / "naive.csv", dtype={"retailer_id": str, "brand_code": str})
    assert back["allocated"].tolist() == run.allocated.tolist() == proportional_split(QUOTED).tolist()
    # the naive split is feasible here but leaves volume on the shelf, which our certificate would refuse
    cert = certify(QUOTED, run.allocated)
    assert cert.feasible and cert.volume < cert.max_volume


def test_allocate_refuses_what_its_certificate_refuses(monkeypatch):
    import allocation.solver

    monkeypatch.setattr(allocation.solver, "solve_lines", lambda problem: Solution(problem.line_demand.copy()))
    with pytest.raises(CertificateFailed) as failed:
        allocate(QUOTED)
    assert not failed.value.certificate.feasible


def test_the_published_file_is_readable_by_others(tmp_path):
    allocate_to_file(QUOTED, tmp_path / "a.csv")
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644
