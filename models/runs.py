"""Allocation runs: queued by a request, executed outside it on a snapshot of the closed cycle, then published."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from allocation.vocabulary import ACTIVE_RUN_STATES, SHORT_REASONS, CycleState, Priority, Reason, RunState
from models import audit, leases
from models.cycles import cycle_status, get_cycle, require_status
from models.db import bulk_insert, copy_csv, read_frame, session_scope
from models.errors import Conflict, DomainError, NotFound, row_id
from models.pagination import entity_page, page
from models.summary import fill_counts
from models.allocation_policy import default_priority
from models.tables import Cap, Cycle, Supply
from models.tables_runs import Allocation, AllocationRun, Publication
from models.types import utcnow
from models.users import Principal

log = logging.getLogger("runs")

ALLOCATION_COLUMNS = ["run_id", "retailer_id", "brand_code", "demanded", "allocated", "reason"]


# ---- requests (flush, never commit) -------------------------------------------------------------------------

def _active_run_id(session: Session, cycle_id: int) -> int | None:
    return session.execute(select(AllocationRun.id).where(AllocationRun.cycle_id == cycle_id,
                                                          AllocationRun.status.in_(ACTIVE_RUN_STATES))).scalar()


def start_run(session: Session, principal: Principal, cycle_id: int | str, priority: str | None = None) -> AllocationRun:
    """Queue a run for a closed cycle; the partial unique index keeps it to one active run per cycle.

    priority: what the run puts first; None takes the company's allocation policy."""
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    require_status(cycle, CycleState.CLOSED, doing="start an allocation run")
    active = _active_run_id(session, cycle.id)
    if active is not None:
        raise _in_progress(cycle, active)
    if priority is None:
        priority = default_priority(session, principal.company_id)
    run = AllocationRun(company_id=principal.company_id, cycle_id=cycle.id, status=RunState.QUEUED, priority=str(priority),
                        created_by=principal.user_id, cycle_closed_at=cycle.closed_at)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise _in_progress(cycle, _active_run_id(session, cycle.id)) from None
    audit.record(session, principal, "allocation_run.start", "allocation_run", run.id,
                 new={"cycle_id": str(cycle.id), "status": RunState.QUEUED, "priority": run.priority})
    return run


def _in_progress(cycle: Cycle, run_id: int | None) -> Conflict:
    return Conflict(f"cycle {cycle.id} ({cycle.name}) already has run {run_id} queued or running; wait for it to "
                    "finish, then start another", "run_in_progress", run_id=None if run_id is None else str(run_id))


def get_run(session: Session, company_id: int, run_id: int | str, for_update: bool = False) -> AllocationRun:
    """The company's run or 404."""
    run = session.get(AllocationRun, row_id(run_id, "allocation run"), with_for_update=for_update or None, populate_existing=True)
    if run is None or run.company_id != company_id:
        raise NotFound(f"no allocation run {run_id!r}")
    return run


def list_runs(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None, limit: int):
    """A cycle's runs, oldest first, so a client that pages on sees new runs at the end."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    stmt = select(AllocationRun).where(AllocationRun.cycle_id == cycle.id)
    return entity_page(session, stmt, [AllocationRun.id], cursor, limit)


def run_allocations(session: Session, principal: Principal, run_id: int | str, cursor: str | None, limit: int):
    """A run's rows in (retailer_id, brand_code) order, for review before publishing."""
    run = get_run(session, principal.company_id, run_id)
    stmt = select(Allocation.retailer_id, Allocation.brand_code, Allocation.demanded, Allocation.allocated,
                  Allocation.reason).where(Allocation.run_id == run.id)
    return page(session, stmt, [Allocation.retailer_id, Allocation.brand_code], cursor, limit)


def publish(session: Session, principal: Principal, run_id: int | str) -> Publication:
    """Make a succeeded run the cycle's final allocation, once; the cycle lock serializes it with close and reopen."""
    run = get_run(session, principal.company_id, run_id)
    cycle = get_cycle(session, principal.company_id, run.cycle_id, for_update=True)
    if cycle.status == CycleState.PUBLISHED:
        raise Conflict(f"cycle {cycle.id} ({cycle.name}) is already published with run {cycle.published_run_id}; "
                       "a cycle's allocation is published once", "already_published",
                       published_run_id=str(cycle.published_run_id))
    require_status(cycle, CycleState.CLOSED, doing="publish an allocation")
    run = get_run(session, principal.company_id, run.id, for_update=True)
    if run.status != RunState.SUCCEEDED:
        raise Conflict(f"run {run.id} is {run.status}; only a succeeded run can be published", "run_not_succeeded",
                       status=run.status)
    if run.cycle_closed_at != cycle.closed_at:
        raise Conflict(f"run {run.id} was computed before cycle {cycle.id} was reopened and closed again; start a "
                       "new run and publish that one", "run_stale")
    pub = Publication(company_id=cycle.company_id, cycle_id=cycle.id, run_id=run.id, published_by=principal.user_id)
    session.add(pub)
    session.flush()
    cycle.status, cycle.published_at, cycle.published_run_id = CycleState.PUBLISHED, pub.published_at, run.id
    session.add(cycle)
    audit.record(session, principal, "cycle.publish", "cycle", cycle.id, old={"status": CycleState.CLOSED},
                 new={"status": CycleState.PUBLISHED, "run_id": str(run.id)})
    session.flush()
    return pub


# ---- execution (outside any request; each step its own transaction) ------------------------------------------

@contextmanager
def _transaction(bind, snapshot: bool = False) -> Any:
    """A session of its own on an engine, or on a savepoint when bound to a test's connection.

    snapshot: every statement sees the same committed state (REPEATABLE READ on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already does).
    """
    if snapshot and isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        bind = bind.execution_options(isolation_level="REPEATABLE READ")
    with session_scope(bind) as session:
        yield session


def _require_snapshot_cycle(session: Session, run: AllocationRun, when: str) -> None:
    """The run is computed from the close it was started on; a reopen since makes its inputs another cycle's."""
    cycle = get_cycle(session, run.company_id, run.cycle_id, for_share=True)
    if cycle.status != CycleState.CLOSED or cycle.closed_at != run.cycle_closed_at:
        raise Conflict(f"cycle {cycle.id} was reopened or changed {when} (now {cycle_status(cycle)}); nothing was "
                       "written; start a new run on the closed cycle")


@dataclass
class Snapshot:
    """What the engine needs from one closed cycle, read in one transaction."""

    demand: pd.DataFrame
    supply: pd.DataFrame
    caps: pd.DataFrame
    excluded: list[dict]
    priority: str = Priority.VOLUME  # the run's (DOMAIN.md "Volume first, or choice first")


def read_snapshot(session: Session, company_id: int, cycle_id: int, priority: str = Priority.VOLUME) -> Snapshot:
    """Approved demand, supply and caps with weights, and the priority: everything the run is computed from."""
    from models.orders import approved_demand

    demand, excluded = approved_demand(session, company_id, cycle_id)
    supply = read_frame(session, select(Supply.brand_code, Supply.quantity).where(Supply.cycle_id == cycle_id),
                        {"brand_code": "str", "quantity": "int64"})
    caps = read_frame(session, select(Cap.retailer_id, Cap.cap, Cap.weight).where(Cap.cycle_id == cycle_id),
                      {"retailer_id": "str", "cap": "int64", "weight": "float64"})
    return Snapshot(demand, supply, caps, list(excluded), priority)


def _solve(snapshot: Snapshot):
    """Validate and allocate; split out so its time is measured apart from reading and writing."""
    from allocation.engine import allocate
    from allocation.files import release_unused_memory
    from allocation.problem import Problem

    problem = Problem.from_frames(snapshot.demand, snapshot.supply, snapshot.caps)
    snapshot.demand = snapshot.supply = snapshot.caps = None  # the problem's arrays replace them, before the solve
    release_unused_memory()
    return allocate(problem, priority=snapshot.priority)


def jsonable(value: Any) -> Any:
    """numpy scalars and arrays, Decimals and tuples as plain JSON values, for the run's JSON columns."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def totals_of(allocations: pd.DataFrame, excluded: list[dict]) -> dict:
    """The run's summary figures, computed from the rows it writes."""
    short = allocations.loc[allocations["reason"] != Reason.FULL, "reason"].value_counts()
    demanded, allocated = int(allocations["demanded"].sum()), int(allocations["allocated"].sum())
    return {
        "lines": len(allocations), "retailers": int(allocations["retailer_id"].nunique()),
        "specs": int(allocations["brand_code"].nunique()), "demanded": demanded, "allocated": allocated,
        "short_lines": {r: int(short.get(r, 0)) for r in SHORT_REASONS},
        "fill_ratio": round(allocated / demanded, 6) if demanded else None,
        "excluded_orders": len(excluded),
        "fill_histogram": fill_counts(allocations["demanded"].to_numpy(), allocations["allocated"].to_numpy()),
    }


def _short_error(exc: BaseException) -> str:
    """A sentence for the run's error column: the domain's own words, never a stack trace or SQL."""
    from allocation.certificate import CertificateFailed
    from allocation.problem import ProblemError

    if isinstance(exc, CertificateFailed):
        cert = exc.certificate
        return (f"the engine's allocation failed its own certificate (volume {cert.volume} of a proved "
                f"maximum {cert.max_volume}, {cert.fairness_violations} fairness violations, "
                f"feasible: {cert.feasible}); nothing was written; report this as a defect")
    if isinstance(exc, ProblemError):
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
        return ("the cycle's inputs are not a valid allocation problem: " + "; ".join(lines[:5]) + more)[:1000]
    if isinstance(exc, DomainError):
        return exc.detail[:1000]
    return f"the run failed ({type(exc).__name__}); the service log has the details; start a new run"


def _write(bind, run: AllocationRun, result, snapshot: Snapshot, timings: dict, t0: float) -> None:
    """All rows, totals, timings and the certificate in one transaction, or nothing; only under the run's lease."""
    with _transaction(bind) as session:
        t = time.perf_counter()
        _require_snapshot_cycle(session, run, "during the run")
        if not leases.holds(session, AllocationRun, run.id, run.lease_owner):
            raise Conflict(f"run {run.id} was failed or taken over while it ran (its lease expired); nothing was "
                           "written")
        locked = session.get(AllocationRun, run.id, populate_existing=True)
        a = result.allocations
        if bind.dialect.name == "postgresql":  # millions of rows: rendered as CSV from integer codes, then COPY
            copy_csv(session, Allocation.__table__, ALLOCATION_COLUMNS, result.csv_chunks(lead=str(run.id)))
            # the planner's statistics commit with the rows (a run's own rows count as live to its ANALYZE), so the
            # first pull or pick list after the run never plans for an empty run, and no later step can be cut short
            session.execute(text("ANALYZE allocation"))
        else:
            rows = zip(repeat(run.id), a["retailer_id"].astype(str).tolist(), a["brand_code"].astype(str).tolist(),
                       a["demanded"].astype("int64").tolist(), a["allocated"].astype("int64").tolist(),
                       a["reason"].astype(str).tolist())
            bulk_insert(session, Allocation.__table__, ALLOCATION_COLUMNS, rows)
        timings["write_s"] = round(time.perf_counter() - t, 3)
        timings["total_s"] = round(time.perf_counter() - t0, 3)
        timings["engine"] = result.timings.as_json()
        locked.status, locked.finished_at = RunState.SUCCEEDED, utcnow()
        locked.totals = {**totals_of(a, snapshot.excluded), "graph": result.graph.as_json()}
        locked.timings = timings
        locked.certificate = result.certificate.as_json()
        locked.excluded_orders = jsonable(snapshot.excluded)
        session.add(locked)


def fail_run(bind, run_id: int, error: str, owner: str | None = None) -> None:
    """Mark a queued or running run failed with its reason, in a transaction of its own."""
    with _transaction(bind) as session:
        leases.fail(session, AllocationRun, run_id, error, owner=owner)


def execute_run(bind, run_id: int, solve: Callable[[Snapshot], Any] = _solve, lease_s: float = 3600.0) -> str:
    """Claim a queued run and execute it in this process (tests, the demo); returns its final status."""
    owner = leases.owner_name("inline")
    with _transaction(bind) as session:
        leases.claim(session, AllocationRun, run_id, owner, lease_s)
    return execute_claimed(bind, run_id, owner, solve)


def execute_claimed(bind, run_id: int, owner: str, solve: Callable[[Snapshot], Any] = _solve) -> str:
    """Execute a run claimed by `owner` to its end and return its final status; a failure leaves no rows, only why.

    The process that claimed the run keeps its lease renewed (executor.supervise); the rows are written only
    while that lease is still held.
    """
    t0 = time.perf_counter()
    with _transaction(bind) as session:
        run = session.get(AllocationRun, run_id)
        if run is None:
            return "missing"
        if run.status != RunState.RUNNING or run.lease_owner != owner:
            return run.status
    try:
        timings = {"queued_s": round((run.started_at - run.created_at).total_seconds(), 3)}
        t = time.perf_counter()
        with _transaction(bind, snapshot=True) as session:
            _require_snapshot_cycle(session, run, "before the run started")
            snapshot = read_snapshot(session, run.company_id, run.cycle_id, run.priority)
        timings["read_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        result = solve(snapshot)
        timings["solve_s"] = round(time.perf_counter() - t, 3)
        _write(bind, run, result, snapshot, timings, t0)
    except Exception as exc:  # the run records why it failed; the service keeps going
        log.exception("allocation run %s failed", run_id)
        fail_run(bind, run_id, _short_error(exc), owner=owner)
        return RunState.FAILED
    return RunState.SUCCEEDED
