"""Allocation runs: start one on a closed cycle (executed by a worker process), follow it, review it, publish it."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.deps import PageDep, SessionDep, require
from api.idempotency import IdempotencyDep
from api.schemas import Page
from api.schemas_runs import AllocationOut, PublishedRun, RunCreated, RunIn, RunOut
from models import runs
from models.users import Principal
from models.worker import spawn

log = logging.getLogger("runs")
router = APIRouter(tags=["allocation runs"])
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = Annotated[Principal, Depends(require("admin", "auditor"))]

RUN_RULES = """Starts an allocation run on a snapshot of the **closed** cycle and answers 202 at once; poll
`GET /v1/allocation-runs/{run_id}` until `status` is `succeeded` or `failed`. The run executes in a worker
process after this request has committed. It uses the approved demand (retailer-stated orders, and collected
orders approved at their current version; the others are listed in `excluded_orders`), the cycle's supply and
its caps with weights, and puts first the `priority` the body names (`volume` or `choice`), else the company's
allocation policy (`GET /v1/allocation-policy`). Its rows, totals, timings and certificate are written in one
transaction, or nothing is written and the run is `failed` with a short `error`.

409 `cycle_state` unless the cycle is closed; 409 `run_in_progress` while another run of the cycle is queued or
running. A run left queued or running by a stopped service is marked failed when the service starts."""

PUBLISH_RULES = """Makes a succeeded run the cycle's final allocation: the cycle becomes `published` and appears in
`GET /v1/publications`. Once per cycle (409 `already_published`); only a `succeeded` run (409
`run_not_succeeded`) of a `closed` cycle (409 `cycle_state`) computed since its last close (409 `run_stale`)."""


def worker_url(app: FastAPI) -> str:
    """The database the worker process must open: the app's own engine, password included."""
    bind = app.state.engine
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=False)


def dispatch(app: FastAPI, run_id: int) -> None:
    """Execute the run inline (tests) or in a worker process; never raise: the request has already committed."""
    try:
        if app.state.settings.run_in_process:
            runs.execute_run(app.state.engine, run_id)
        else:
            spawn(run_id, worker_url(app))
    except Exception:
        log.exception("could not execute or start allocation run %s", run_id)
        try:
            runs.fail_run(app.state.engine, run_id, "the run could not be started; start a new run")
        except Exception:
            log.exception("could not mark allocation run %s failed", run_id)


def on_startup(app: FastAPI) -> None:
    """Runs a stopped service left queued or running can never finish: mark them failed so their cycle is free."""
    try:
        n = runs.fail_abandoned(app.state.engine)
    except SQLAlchemyError:
        log.warning("could not check for abandoned allocation runs (is the schema migrated?)")
        return
    if n:
        log.warning("marked %d abandoned allocation run(s) failed", n)


@router.post("/v1/cycles/{cycle_id}/allocation-runs", status_code=202, response_model=RunCreated,
             description=RUN_RULES, responses={
                 404: {"description": "no such cycle"},
                 409: {"description": "the cycle is not closed (cycle_state) or has a run queued or running "
                                      "(run_in_progress, with its `run_id`)"}})
def start_run(cycle_id: str, request: Request, session: SessionDep, principal: Admin, idem: IdempotencyDep,
              body: Annotated[RunIn | None, Body()] = None):
    """Queues a run; the worker starts once this request's transaction has committed."""
    run = runs.start_run(session, principal, cycle_id, body.priority if body else None)
    run_id, app = run.id, request.app
    runs.after_commit(session, lambda: dispatch(app, run_id))
    return idem.respond({"run_id": str(run_id), "status": run.status, "cycle_id": str(run.cycle_id),
                         "priority": run.priority}, 202,
                        headers={"Location": f"/v1/allocation-runs/{run_id}"})


@router.get("/v1/cycles/{cycle_id}/allocation-runs", response_model=Page[RunOut])
def list_runs(cycle_id: str, session: SessionDep, principal: Reader, paging: PageDep):
    """A cycle's runs, oldest first."""
    items, nxt = runs.list_runs(session, principal, cycle_id, paging.cursor, paging.limit)
    return {"items": [runs.run_out(r) for r in items], "next_cursor": nxt}


@router.get("/v1/allocation-runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, session: SessionDep, principal: Reader):
    """A run's status, totals, timings, certificate and the collected orders it left out."""
    return runs.run_out(runs.get_run(session, principal.company_id, run_id))


@router.get("/v1/allocation-runs/{run_id}/allocations", response_model=Page[AllocationOut])
def get_run_allocations(run_id: str, session: SessionDep, principal: Reader, paging: PageDep):
    """A run's rows in (retailer_id, brand_code) order, to review before publishing."""
    rows, nxt = runs.run_allocations(session, principal, run_id, paging.cursor, paging.limit)
    return {"items": [r._asdict() for r in rows], "next_cursor": nxt}


@router.post("/v1/allocation-runs/{run_id}/publish", response_model=PublishedRun, description=PUBLISH_RULES,
             responses={404: {"description": "no such run"},
                        409: {"description": "already_published, run_not_succeeded, run_stale or cycle_state"}})
def publish(run_id: str, session: SessionDep, principal: Admin, idem: IdempotencyDep):
    """Publishes a succeeded run; the cycle's allocation is then final."""
    pub = runs.publish(session, principal, run_id)
    return idem.respond({"cycle_id": str(pub.cycle_id), "run_id": str(pub.run_id), "published_at": pub.published_at,
                         "status": "published"}, 200)
