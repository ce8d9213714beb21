"""What-if allocations: try other supply or caps on a closed cycle's frozen demand, executed like a run, compared
with the cycle's run, never published."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import CycleId, ScenarioId
from api.idempotency import IdempotencyDep
from api.schemas import Page
from api.schemas_scenarios import FillRatios, ScenarioAllocationOut, ScenarioCreated, ScenarioIn, ScenarioOut
from executor.kinds import SCENARIO
from models import scenarios
from models.users import Principal

router = APIRouter(tags=["scenarios"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]

SCENARIO_RULES = """Queues a what-if allocation of the cycle's frozen demand (the approved demand of its close, as a
run reads it) under other supply and/or caps, and answers 202 at once; poll `GET /v1/scenarios/{scenario_id}`.
It executes like a run (by the same executor, a process of the API's host or a queue worker, under a lease; the
same engine and certificate) on the cycle's supply and caps with the
listed specs' supply and retailers' caps replaced; everything not listed stands.

A scenario is never published and has its own ids (`S` and a number: run routes answer 404 for them); it does not
count toward the cycle's one active run, so scenarios may run beside a run and beside each other.

422 for an unknown spec or retailer, a spec or retailer listed twice, a negative quantity, or a floor, minimum or
per-spec field on a cap (`floor_or_quota_refused`, 总量浮动管理); 404 for an unknown cycle; 409 `cycle_state` unless
the cycle is closed or published."""

COMPARISON_RULES = """`comparison` is made with the cycle's published run, else its latest succeeded run, of the
close the scenario was computed on (the same demand); null when there is none (it appears once such a run exists,
and follows a later run or the publication). `volume_change` and `fill_ratio_change` are scenario − run (fill ratio
= Σ allocated / Σ demanded over lines with demand > 0); `short_lines_by_reason` and `shortfall_by_spec` (demanded −
allocated, every demanded spec) give both sides; `retailers_changed` counts retailers with a line allocated
differently."""


@router.post("/v1/cycles/{cycle_id}/scenarios", status_code=202, response_model=ScenarioCreated,
             description=SCENARIO_RULES, responses={
                 404: {"description": "no such cycle"},
                 409: {"description": "the cycle is not closed or published (cycle_state)"},
                 422: {"description": "unknown_spec, unknown_retailer, duplicate_line, a bad value, or a floor-like "
                                      "field on a cap (floor_or_quota_refused)"}})
def start_scenario(cycle_id: CycleId, body: ScenarioIn, request: Request, session: SessionDep, principal: Admin,
                   idem: IdempotencyDep):
    """Queues a scenario; its worker starts once this request's transaction has committed."""
    scenario = scenarios.start_scenario(session, principal, cycle_id, body.name,
                                        [(x.brand_code, x.quantity) for x in body.supply],
                                        [(x.retailer_id, x.cap, x.weight) for x in body.caps], body.priority)
    # no lock: scenarios do not count toward a cycle's one active run, and may run beside each other
    request.app.state.executor.submit(session, SCENARIO, scenario.id, lock=None)
    return idem.respond(ScenarioCreated.model_validate(scenario), 202,
                        headers={"Location": f"/v1/scenarios/{scenarios.public_id(scenario.id)}"})


@router.get("/v1/cycles/{cycle_id}/scenarios", response_model=Page[ScenarioOut], description=COMPARISON_RULES)
def list_scenarios(cycle_id: CycleId, session: SessionDep, principal: Reader, paging: PageDep):
    """A cycle's scenarios, oldest first, each with its comparison."""
    items, nxt = scenarios.list_scenarios(session, principal, cycle_id, paging.cursor, paging.limit)
    return {"items": [scenarios.refresh_comparison(session, s) for s in items], "next_cursor": nxt}


@router.get("/v1/scenarios/{scenario_id}", response_model=ScenarioOut, description=COMPARISON_RULES)
def get_scenario(scenario_id: ScenarioId, session: SessionDep, principal: Reader):
    """A scenario's status, totals, timings, certificate and its comparison with the cycle's run."""
    scenario = scenarios.get_scenario(session, principal.company_id, scenario_id)
    return scenarios.refresh_comparison(session, scenario)


@router.get("/v1/scenarios/{scenario_id}/allocations", response_model=Page[ScenarioAllocationOut],
            responses={409: {"description": "changed=true without a run to compare with (no_comparison)"}})
def get_scenario_allocations(scenario_id: ScenarioId, session: SessionDep, principal: Reader, paging: PageDep,
                             changed: Annotated[bool, Query(description="only the lines allocated differently from "
                                                                        "the compared run")] = False):
    """A scenario's rows in (retailer_id, brand_code) order, each beside the compared run's `run_allocated`."""
    rows, nxt = scenarios.scenario_allocations(session, principal, scenario_id, paging.cursor, paging.limit, changed)
    return {"items": [r._asdict() for r in rows], "next_cursor": nxt}


@router.get("/v1/scenarios/{scenario_id}/fill-ratios", response_model=FillRatios)
def get_fill_ratios(scenario_id: ScenarioId, session: SessionDep, principal: Reader):
    """Lines by fill ratio in the scenario and in the run it is compared with, bucket by bucket."""
    return scenarios.fill_ratios(session, principal, scenario_id)
