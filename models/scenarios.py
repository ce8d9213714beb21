"""What-if allocations: queued by a request on a closed or published cycle, executed like a run (same snapshot of
the frozen demand, same engine and certificate) with the overrides applied, compared with the cycle's run.

A scenario is never published: it has its own table, rows and ids ("S" and a number, so no run route can answer
one), and does not count toward a cycle's one active run.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from itertools import repeat

import pandas as pd
from sqlalchemy import and_, select, update
from sqlmodel import Session

from allocation.scenarios import compare, with_overrides
from allocation.vocabulary import FINAL_CYCLE_STATES, RunState
from models import audit, leases
from models.caps import check_retailer_lines
from models.cycles import check_spec_lines, cycle_status, get_cycle, require_status
from models.db import bulk_insert, read_frame
from models.errors import Conflict, NotFound
from models.pagination import entity_page, page
from models.allocation_policy import default_priority
from models.runs import Snapshot, _short_error, _solve, _transaction, jsonable, read_snapshot, totals_of
from models.tables import Cycle
from models.tables_runs import Allocation, AllocationRun
from models.tables_scenarios import Scenario, ScenarioAllocation
from models.types import utcnow
from models.users import Principal

log = logging.getLogger("scenarios")
PREFIX = "S"
ROW_COLUMNS = ["scenario_id", "retailer_id", "brand_code", "demanded", "allocated", "reason"]
ROWS = {"retailer_id": "str", "brand_code": "str", "demanded": "int64", "allocated": "int64", "reason": "str"}


def public_id(key: int) -> str:
    """A scenario's id as callers see it: S and its number, never a run's id."""
    return f"{PREFIX}{key}"


def _key(scenario_id: str) -> int:
    text = str(scenario_id)
    digits = text[len(PREFIX):] if text.startswith(PREFIX) else ""
    if not digits.isdigit() or not 0 < int(digits) < 2**31:
        raise NotFound(f"no scenario {scenario_id!r} (scenario ids look like S12)")
    return int(digits)


# ---- requests (flush, never commit) -------------------------------------------------------------------------

def start_scenario(session: Session, principal: Principal, cycle_id: int | str, name: str,
                   supply: list[tuple[str, int]], caps: list[tuple[str, int, Decimal | None]],
                   priority: str | None = None) -> Scenario:
    """Queue a scenario on a closed or published cycle's frozen demand with these overrides (the rest stand);
    priority None takes the company's allocation policy, as a run does."""
    check_spec_lines(session, principal.company_id, [code for code, _ in supply])
    check_retailer_lines(session, principal.company_id, [rid for rid, _, _ in caps])
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    require_status(cycle, *FINAL_CYCLE_STATES, doing="try a scenario")
    if priority is None:
        priority = default_priority(session, principal.company_id)
    scenario = Scenario(
        company_id=principal.company_id, cycle_id=cycle.id, name=name, priority=str(priority),
        created_by=principal.user_id,
        cycle_closed_at=cycle.closed_at, supply=[{"brand_code": c, "quantity": q} for c, q in supply],
        caps=[{"retailer_id": r, "cap": c, "weight": None if w is None else str(w)} for r, c, w in caps])
    session.add(scenario)
    session.flush()
    audit.record(session, principal, "scenario.start", "scenario", public_id(scenario.id),
                 new={"cycle_id": str(cycle.id), "name": name, "supply": len(supply), "caps": len(caps),
                      "priority": scenario.priority})
    return scenario


def get_scenario(session: Session, company_id: int, scenario_id: str) -> Scenario:
    """The company's scenario or 404."""
    scenario = session.get(Scenario, _key(scenario_id), populate_existing=True)
    if scenario is None or scenario.company_id != company_id:
        raise NotFound(f"no scenario {scenario_id!r}")
    return scenario


def list_scenarios(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None, limit: int):
    """A cycle's scenarios, oldest first."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    return entity_page(session, select(Scenario).where(Scenario.cycle_id == cycle.id), [Scenario.id], cursor, limit)


def comparison_run(session: Session, scenario: Scenario) -> int | None:
    """The run to compare with: the cycle's published run, else its latest succeeded run, either of the close
    the scenario was computed on (the same demand); None when there is none."""
    same_close = and_(AllocationRun.cycle_id == scenario.cycle_id, AllocationRun.status == RunState.SUCCEEDED,
                      AllocationRun.cycle_closed_at == scenario.cycle_closed_at)
    cycle = session.get(Cycle, scenario.cycle_id)
    if cycle.published_run_id is not None:
        published = session.execute(select(AllocationRun.id).where(
            same_close, AllocationRun.id == cycle.published_run_id)).scalar()
        if published is not None:
            return published
    return session.execute(select(AllocationRun.id).where(same_close).order_by(AllocationRun.id.desc())
                           .limit(1)).scalar()


def _rows(session: Session, table, key_col, key: int) -> pd.DataFrame:
    return read_frame(session, select(table.retailer_id, table.brand_code, table.demanded, table.allocated,
                                      table.reason).where(key_col == key), ROWS)


def refresh_comparison(session: Session, scenario: Scenario) -> Scenario:
    """Recompute the comparison when the run to compare with is no longer the one it was computed against
    (a run succeeded or was published since); otherwise keep the stored one."""
    if scenario.status != RunState.SUCCEEDED:
        return scenario
    target = comparison_run(session, scenario)
    if target == scenario.compared_run_id and (target is None or scenario.comparison is not None):
        return scenario
    comparison = None
    if target is not None:
        comparison = compare(_rows(session, Allocation, Allocation.run_id, target),
                             _rows(session, ScenarioAllocation, ScenarioAllocation.scenario_id, scenario.id))
    session.execute(update(Scenario).where(Scenario.id == scenario.id)
                    .values(comparison=comparison, compared_run_id=target))
    session.flush()
    return session.get(Scenario, scenario.id, populate_existing=True)


def scenario_allocations(session: Session, principal: Principal, scenario_id: str, cursor: str | None, limit: int,
                         changed: bool = False):
    """A scenario's rows in (retailer_id, brand_code) order, each with the compared run's allocation of the same
    line (`run_allocated`, null without a run to compare with); `changed`: only the lines allocated differently."""
    scenario = refresh_comparison(session, get_scenario(session, principal.company_id, scenario_id))
    run_id = scenario.compared_run_id
    if changed and run_id is None:
        raise Conflict(f"scenario {scenario_id} has no run to compare with (no succeeded run of the close it was "
                       "computed on): there are no changed rows to list", "no_comparison")
    s = ScenarioAllocation
    stmt = select(s.retailer_id, s.brand_code, s.demanded, s.allocated, s.reason,
                  Allocation.allocated.label("run_allocated")).where(s.scenario_id == scenario.id)
    stmt = stmt.outerjoin(Allocation, and_(Allocation.run_id == (run_id or -1), Allocation.retailer_id == s.retailer_id,
                                           Allocation.brand_code == s.brand_code))
    if changed:
        stmt = stmt.where((Allocation.allocated.is_(None)) | (Allocation.allocated != s.allocated))
    return page(session, stmt, [s.retailer_id, s.brand_code], cursor, limit)


FILL_LABELS = ["0"] + [f"{10 * k}–{10 * (k + 1)}%" for k in range(10)] + ["100%"]


def fill_ratios(session: Session, principal: Principal, scenario_id: str) -> dict:
    """Lines by fill ratio (none, each tenth short of full, full) in the scenario and in the run it is compared
    with, side by side."""
    from models.summary import run_fill_histogram

    scenario = refresh_comparison(session, get_scenario(session, principal.company_id, scenario_id))
    run_id = scenario.compared_run_id
    return {"scenario_id": public_id(scenario.id), "compared_run_id": None if run_id is None else str(run_id),
            "buckets": FILL_LABELS, "scenario": run_fill_histogram(session, scenario, ScenarioAllocation),
            "run": None if run_id is None else run_fill_histogram(session, session.get(AllocationRun, run_id))}


# ---- execution (outside any request; each step its own transaction) ------------------------------------------

def _require_frozen_cycle(session: Session, scenario: Scenario, when: str) -> None:
    """The scenario allocates the demand of the close it was started on; a reopen since makes it another's."""
    cycle = get_cycle(session, scenario.company_id, scenario.cycle_id, for_share=True)
    if cycle.status not in FINAL_CYCLE_STATES or cycle.closed_at != scenario.cycle_closed_at:
        raise Conflict(f"cycle {cycle.id} was reopened {when} (now {cycle_status(cycle)}); nothing was written; start "
                       "the scenario again on the closed cycle")


def fail_scenario(bind, scenario_id: int, error: str, owner: str | None = None) -> None:
    """Mark a queued or running scenario failed with its reason, in a transaction of its own."""
    with _transaction(bind) as session:
        leases.fail(session, Scenario, scenario_id, error, owner=owner)


def _write(bind, scenario: Scenario, result, snapshot: Snapshot, timings: dict, t0: float) -> None:
    """All rows, totals, timings, the certificate and the comparison in one transaction, or nothing."""
    with _transaction(bind) as session:
        t = time.perf_counter()
        _require_frozen_cycle(session, scenario, "during the scenario")
        if not leases.holds(session, Scenario, scenario.id, scenario.lease_owner):
            raise Conflict(f"scenario {public_id(scenario.id)} was failed or taken over while it ran (its lease "
                           "expired); nothing was written")
        locked = session.get(Scenario, scenario.id, populate_existing=True)
        a = result.allocations
        rows = zip(repeat(scenario.id), a["retailer_id"].astype(str).tolist(), a["brand_code"].astype(str).tolist(),
                   a["demanded"].astype("int64").tolist(), a["allocated"].astype("int64").tolist(),
                   a["reason"].astype(str).tolist())
        bulk_insert(session, ScenarioAllocation.__table__, ROW_COLUMNS, rows)
        timings["write_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        target = comparison_run(session, locked)
        if target is not None:
            locked.comparison = compare(_rows(session, Allocation, Allocation.run_id, target),
                                        a.astype({"retailer_id": str, "brand_code": str, "reason": str}))
        locked.compared_run_id = target
        timings["compare_s"] = round(time.perf_counter() - t, 3)
        timings["total_s"] = round(time.perf_counter() - t0, 3)
        timings["engine"] = result.timings.as_json()
        locked.status, locked.finished_at = RunState.SUCCEEDED, utcnow()
        locked.totals = {**totals_of(a, snapshot.excluded), "graph": result.graph.as_json()}
        locked.timings = timings
        locked.certificate = result.certificate.as_json()
        locked.excluded_orders = jsonable(snapshot.excluded)
        session.add(locked)


def execute_claimed(bind, scenario_id: int, owner: str, solve=_solve) -> str:
    """Execute a scenario claimed by `owner` (executor.kinds) to its end and return its final status; a failure
    leaves no rows, only why. The rows are written only while the owner's lease is still held."""
    t0 = time.perf_counter()
    with _transaction(bind) as session:
        scenario = session.get(Scenario, scenario_id)
        if scenario is None:
            return "missing"
        if scenario.status != RunState.RUNNING or scenario.lease_owner != owner:
            return scenario.status
    try:
        timings = {"queued_s": round((scenario.started_at - scenario.created_at).total_seconds(), 3)}
        t = time.perf_counter()
        with _transaction(bind, snapshot=True) as session:
            _require_frozen_cycle(session, scenario, "before the scenario started")
            frozen = read_snapshot(session, scenario.company_id, scenario.cycle_id)
        supply, caps = with_overrides(frozen.supply, frozen.caps, scenario.supply, scenario.caps)
        snapshot = Snapshot(frozen.demand, supply, caps, frozen.excluded, scenario.priority)
        timings["read_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        result = solve(snapshot)
        timings["solve_s"] = round(time.perf_counter() - t, 3)
        _write(bind, scenario, result, snapshot, timings, t0)
    except Exception as exc:  # the scenario records why it failed; the service keeps going
        log.exception("scenario %s failed", scenario_id)
        fail_scenario(bind, scenario_id, _short_error(exc).replace("start a new run", "start it again"), owner=owner)
        return RunState.FAILED
    return RunState.SUCCEEDED
