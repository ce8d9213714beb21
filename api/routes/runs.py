"""Allocation runs: start one on a closed cycle (the executor runs it), follow it, review it, publish it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import CycleId, RunId
from api.idempotency import IdempotencyDep
from api.schemas import Page
from api.schemas_runs import AllocationOut, PublishedRun, RunCreated, RunIn, RunOut
from executor.kinds import RUN
from models import runs
from models.users import Principal

router = APIRouter(tags=["allocation runs"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]

RUN_RULES = """Starts an allocation run on a snapshot of the **closed** cycle and answers 202 at once; poll
`GET /v1/allocation-runs/{run_id}` until `status` is `succeeded` or `failed`. The run executes outside the
request: in a process of the API's host (`RUNS_EXECUTOR=local`) or on a queue worker (`queue`). It uses the
approved demand (retailer-stated orders, and collected orders approved at their current version; the others
are listed in `excluded_orders`), the cycle's supply and its caps with weights, and puts first the `priority`
the body names (`volume` or `choice`), else the company's allocation policy (`GET /v1/allocation-policy`). Its
rows, totals, timings and certificate are written in one transaction, or nothing is written and the run is
`failed` with a short `error`.

409 `cycle_state` unless the cycle is closed; 409 `run_in_progress` while another run of the cycle is queued or
running. The process executing a run renews a lease on it; a run whose executor stopped (its lease expired, or
its queue worker stopped sending heartbeats) is marked `failed` with `error_code` `executor_lost` by any API or
worker process, and the cycle is free for a new run."""

PUBLISH_RULES = """Makes a succeeded run the cycle's final allocation: the cycle becomes `published` and appears in
`GET /v1/publications`. Once per cycle (409 `already_published`); only a `succeeded` run (409
`run_not_succeeded`) of a `closed` cycle (409 `cycle_state`) computed since its last close (409 `run_stale`)."""


def start_and_submit(request: Request, session, principal: Principal, cycle_id: str, priority: str | None = None):
    """Queue a run and hand it to the executor (a local process or the queue), in the request's transaction;
    priority None takes the company's allocation policy."""
    run = runs.start_run(session, principal, cycle_id, priority)
    request.app.state.executor.submit(session, RUN, run.id, lock=f"cycle:{run.cycle_id}")
    return run


@router.post("/v1/cycles/{cycle_id}/allocation-runs", status_code=202, response_model=RunCreated,
             description=RUN_RULES, responses={
                 404: {"description": "no such cycle"},
                 409: {"description": "the cycle is not closed (cycle_state) or has a run queued or running "
                                      "(run_in_progress, with its `run_id`)"}})
def start_run(cycle_id: CycleId, request: Request, session: SessionDep, principal: Admin, idem: IdempotencyDep,
              body: Annotated[RunIn | None, Body()] = None):
    """Queues a run and submits it to the executor (local process or queue) in the same transaction."""
    run = start_and_submit(request, session, principal, cycle_id, body.priority if body else None)
    return idem.respond(RunCreated.model_validate(run), 202, headers={"Location": f"/v1/allocation-runs/{run.id}"})


@router.get("/v1/cycles/{cycle_id}/allocation-runs", response_model=Page[RunOut])
def list_runs(cycle_id: CycleId, session: SessionDep, principal: Reader, paging: PageDep):
    """A cycle's runs, oldest first."""
    items, nxt = runs.list_runs(session, principal, cycle_id, paging.cursor, paging.limit)
    return {"items": items, "next_cursor": nxt}


@router.get("/v1/allocation-runs/{run_id}", response_model=RunOut)
def get_run(run_id: RunId, session: SessionDep, principal: Reader):
    """A run's status, totals, timings, certificate and the collected orders it left out."""
    return runs.get_run(session, principal.company_id, run_id)


@router.get("/v1/allocation-runs/{run_id}/allocations", response_model=Page[AllocationOut])
def get_run_allocations(run_id: RunId, session: SessionDep, principal: Reader, paging: PageDep):
    """A run's rows in (retailer_id, brand_code) order, to review before publishing."""
    rows, nxt = runs.run_allocations(session, principal, run_id, paging.cursor, paging.limit)
    return {"items": [r._asdict() for r in rows], "next_cursor": nxt}


@router.post("/v1/allocation-runs/{run_id}/publish", response_model=PublishedRun, description=PUBLISH_RULES,
             responses={404: {"description": "no such run"},
                        409: {"description": "already_published, run_not_succeeded, run_stale or cycle_state"}})
def publish(run_id: RunId, session: SessionDep, principal: Admin, idem: IdempotencyDep):
    """Publishes a succeeded run; the cycle's allocation is then final."""
    pub = runs.publish(session, principal, run_id)
    return idem.respond(PublishedRun.model_validate(pub), 200)
