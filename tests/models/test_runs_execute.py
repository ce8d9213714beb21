"""Executing a run: the hand-computed allocation, all-or-nothing writes, failures recorded, abandoned runs freed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from models import leases, runs
from models.errors import Conflict
from models.tables import Cap, Cycle
from models.tables_runs import Allocation, AllocationRun
from models.types import utcnow
from tests.worlds.runs import EXPECTED, admin_principal, queue_run



def rows_of(session, run_id: int) -> dict:
    got = session.execute(select(Allocation.retailer_id, Allocation.brand_code, Allocation.demanded,
                                 Allocation.allocated, Allocation.reason).where(Allocation.run_id == run_id)).all()
    return {(r, b): (d, a, why) for r, b, d, a, why in got}


def fresh(session, run_id: int) -> AllocationRun:
    return session.get(AllocationRun, run_id, populate_existing=True)


def test_run_gives_the_hand_computed_allocation(session, connection, company, run_world):
    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id) == "succeeded"
    run = fresh(session, run_id)
    assert run.status == "succeeded" and run.error is None and run.started_at <= run.finished_at
    assert rows_of(session, run_id) == EXPECTED
    assert run.totals["lines"] == 7 and run.totals["retailers"] == 5
    assert run.totals["demanded"] == 3300 and run.totals["allocated"] == 2400
    assert run.totals["short_lines"] == {"no_supply": 1, "cap": 1, "supply": 1}
    assert run.certificate["volume"] == run.certificate["max_volume"] == 2400
    assert run.certificate["fairness_violations"] == 0
    assert run.excluded_orders == [{"retailer_id": "R4", "version": 1, "manager_id": "M2"}]
    assert {"read_s", "solve_s", "write_s", "total_s"} <= set(run.timings)
    assert run.timings["total_s"] >= run.timings["solve_s"] >= 0


def test_a_run_is_executed_once(session, connection, company, run_world):
    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id) == "succeeded"
    assert runs.execute_run(connection, run_id) == "succeeded"
    assert len(rows_of(session, run_id)) == len(EXPECTED)


def test_failure_mid_write_leaves_a_failed_run_and_no_rows(session, connection, company, run_world, monkeypatch):
    real, real_csv = runs.bulk_insert, runs.copy_csv

    def half_then_raise(sess, table, columns, rows):
        rows = list(rows)
        real(sess, table, columns, rows[: len(rows) // 2])
        assert sess.execute(select(func.count()).select_from(Allocation)).scalar() > 0
        raise RuntimeError("disk full while writing SELECT * FROM allocation")

    def half_csv_then_raise(sess, table, columns, chunks):  # PostgreSQL takes the rows as CSV through COPY
        lines = b"".join(chunks).splitlines(keepends=True)
        real_csv(sess, table, columns, [b"".join(lines[: len(lines) // 2])])
        assert sess.execute(select(func.count()).select_from(Allocation)).scalar() > 0
        raise RuntimeError("disk full while writing SELECT * FROM allocation")

    monkeypatch.setattr(runs, "bulk_insert", half_then_raise)
    monkeypatch.setattr(runs, "copy_csv", half_csv_then_raise)
    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id) == "failed"
    run = fresh(session, run_id)
    assert run.status == "failed" and run.finished_at is not None
    assert "RuntimeError" in run.error and "SELECT" not in run.error and "Traceback" not in run.error
    assert run.totals == {} and run.certificate == {}
    assert session.execute(select(func.count()).select_from(Allocation)).scalar() == 0
    assert session.get(Cycle, run_world.id, populate_existing=True).status == "closed"

    monkeypatch.setattr(runs, "bulk_insert", real)
    monkeypatch.setattr(runs, "copy_csv", real_csv)
    again = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, again) == "succeeded"
    assert rows_of(session, again) == EXPECTED


def test_engine_raising_fails_the_run(session, connection, company, run_world, monkeypatch):
    import allocation.engine

    def broken(problem, **options):
        raise ValueError("no flow")

    monkeypatch.setattr(allocation.engine, "allocate", broken)
    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id) == "failed"
    assert "ValueError" in fresh(session, run_id).error
    assert rows_of(session, run_id) == {}


def test_an_allocation_failing_its_certificate_is_never_written(session, connection, company, run_world, monkeypatch):
    import allocation.solver

    def greedy(problem):  # every line in full: over supply and caps, so the certificate refuses it
        return allocation.solver.Solution(problem.line_demand.copy())

    monkeypatch.setattr(allocation.solver, "solve_lines", greedy)
    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id) == "failed"
    run = fresh(session, run_id)
    assert "failed its own certificate" in run.error and "feasible: False" in run.error
    assert not run.certificate and rows_of(session, run_id) == {}


def test_invalid_inputs_fail_with_the_problem_named(session, connection, company, run_world):
    session.delete(session.get(Cap, (run_world.id, "R2")))
    session.commit()
    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id) == "failed"
    error = fresh(session, run_id).error
    assert error.startswith("the cycle's inputs are not a valid allocation problem") and "R2" in error


def test_cycle_reopened_during_the_run_writes_nothing(session, connection, company, run_world):
    def reopen_while_solving(snapshot):
        connection.execute(update(Cycle).where(Cycle.id == run_world.id).values(status="open", closed_at=None))
        return runs._solve(snapshot)

    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id, solve=reopen_while_solving) == "failed"
    assert "reopened or changed during the run" in fresh(session, run_id).error
    assert rows_of(session, run_id) == {}


def test_cycle_reopened_before_the_worker_starts_writes_nothing(session, connection, company, run_world):
    run_id = queue_run(session, company.id, run_world.id)
    session.execute(update(Cycle).where(Cycle.id == run_world.id).values(status="open", closed_at=None))
    session.commit()
    assert runs.execute_run(connection, run_id) == "failed"
    assert "before the run started" in fresh(session, run_id).error and rows_of(session, run_id) == {}


def test_one_active_run_per_cycle(session, company, run_world):
    queue_run(session, company.id, run_world.id)
    with pytest.raises(Conflict) as exc:
        runs.start_run(session, admin_principal(session, company.id), run_world.id)
    assert exc.value.code == "run_in_progress"


def test_a_run_whose_lease_expired_is_failed_and_its_late_executor_writes_nothing(session, connection, company, run_world):
    run_id = queue_run(session, company.id, run_world.id)
    assert leases.claim(session, AllocationRun, run_id, "gone", lease_s=30)
    session.execute(update(AllocationRun).where(AllocationRun.id == run_id)
                    .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert leases.fail_expired(session, AllocationRun) == [run_id]
    session.commit()
    run = fresh(session, run_id)
    assert (run.status, run.error_code, run.error) == ("failed", leases.EXECUTOR_LOST, leases.LOST)
    assert runs.execute_claimed(connection, run_id, "gone") == "failed"  # the late executor does nothing
    assert rows_of(session, run_id) == {}
    assert runs.execute_run(connection, queue_run(session, company.id, run_world.id)) == "succeeded"


def test_an_executor_that_lost_its_lease_mid_run_writes_nothing(session, connection, company, run_world):
    def lease_lost_while_solving(snapshot):
        connection.execute(update(AllocationRun).where(AllocationRun.id == run_id)
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        with Session(connection, join_transaction_mode="create_savepoint") as other:
            assert leases.fail_expired(other, AllocationRun) == [run_id]
            other.commit()
        return runs._solve(snapshot)

    run_id = queue_run(session, company.id, run_world.id)
    assert runs.execute_run(connection, run_id, solve=lease_lost_while_solving) == "failed"
    run = fresh(session, run_id)
    assert run.error_code == leases.EXECUTOR_LOST and rows_of(session, run_id) == {}
