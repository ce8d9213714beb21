"""/ui/cycles and /ui/cycles/{id}: the marketing department's board; close, run (followed live) and publish."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from allocation.vocabulary import ACTIVE_RUN_STATES, CycleState, Role
from api.deps import SessionDep
from api.routes.runs import start_and_submit
from api.ui import charts
from api.ui.i18n import N_
from api.ui.render import NavItem, render, translator, url
from api.ui.session import page_for
from models import cycles, runs
from models.scenarios import list_scenarios, refresh_comparison, scenario_out
from models.summary import caps_overview, cycle_counts, cycle_summary
from models.users import Principal

router = APIRouter()
NAV = [NavItem(10, "/ui/cycles", N_("Cycles"), (Role.ADMIN, Role.AUDITOR))]
Board = Annotated[Principal, Depends(page_for(Role.ADMIN, Role.AUDITOR))]
Admin = Annotated[Principal, Depends(page_for(Role.ADMIN))]
Cursor = Annotated[str | None, Query(max_length=500)]
PAGE = 20
CHART_SPECS = 40  # the chart shows the specs with most demand; the table lists every one


@router.get("/ui/cycles")
def board(request: Request, session: SessionDep, principal: Board, cursor: Cursor = None):
    """Every cycle newest first: state, orders, collected orders pending, retailers without a cap."""
    page, nxt = cycles.list_cycles(session, principal.company_id, cursor, PAGE, newest_first=True)
    counts = cycle_counts(session, principal.company_id, [c.id for c in page])
    rows = [{**cycles.cycle_out(c), **counts[c.id]} for c in page]
    return render(request, "cycles.html", rows=rows, next_href=url("/ui/cycles", cursor=nxt) if nxt else None,
                  first_href="/ui/cycles" if cursor else None)


@router.get("/ui/cycles/{cycle_id}")
def cycle_page(cycle_id: str, request: Request, session: SessionDep, principal: Board):
    """One cycle: counts, supply against demand per spec, caps, its runs; the actions its state allows."""
    t = translator(request)
    summary = cycle_summary(session, principal, cycle_id)
    cid = int(summary["id"])
    run_rows, _ = runs.list_runs(session, principal, cid, None, 100)
    top = sorted(summary["specs"], key=lambda s: -s["demand"])[:CHART_SPECS]
    series = [(t("Demand"), [s["demand"] for s in top]), (t("Supply"), [s["supply"] for s in top])]
    if summary["published_run_id"]:
        series.append((t("Allocated"), [s["allocated"] or 0 for s in top]))
    option = charts.bars([s["name"] or s["brand_code"] for s in top], series)
    active = next((r for r in reversed(run_rows) if r.status in ACTIVE_RUN_STATES), None)
    return render(request, "cycle.html", c=summary, caps=caps_overview(session, principal.company_id, cid),
                  runs=[runs.run_out(r) for r in reversed(run_rows)], active=active, option=option,
                  active_out=runs.run_out(active) if active else None,
                  chart_specs=len(top), scenarios=[scenario_out(refresh_comparison(session, x))
                                                   for x in list_scenarios(session, principal, cid, None, 100)[0]])


@router.post("/ui/cycles/{cycle_id}/close")
def close(cycle_id: str, session: SessionDep, principal: Admin):
    """No more orders; supply and caps freeze (refused, with the retailers named, while an order has no cap)."""
    cycle = cycles.close_cycle(session, principal, cycle_id)
    return RedirectResponse(f"/ui/cycles/{cycle.id}", 303)


@router.post("/ui/cycles/{cycle_id}/runs")
def start_run(cycle_id: str, request: Request, session: SessionDep, principal: Admin):
    """Queue a run on the closed cycle; the page then follows it until it succeeds or fails."""
    run = start_and_submit(request, session, principal, cycle_id)
    if "hx-request" in request.headers:
        return render(request, "_run_status.html", run=runs.run_out(run), cycle_status=CycleState.CLOSED)
    return RedirectResponse(f"/ui/cycles/{run.cycle_id}", 303)


@router.get("/ui/runs/{run_id}/status")
def run_status(run_id: str, request: Request, session: SessionDep, principal: Board):
    """The part of the cycle page that follows a run: it asks again every second while the run is not done."""
    run = runs.get_run(session, principal.company_id, run_id)
    cycle = cycles.get_cycle(session, principal.company_id, run.cycle_id)
    return render(request, "_run_status.html", run=runs.run_out(run), cycle_status=cycles.cycle_status(cycle))


@router.post("/ui/runs/{run_id}/publish")
def publish(run_id: str, session: SessionDep, principal: Admin):
    """Make the run the cycle's final allocation; the distribution center sees it at once."""
    pub = runs.publish(session, principal, run_id)
    return RedirectResponse(f"/ui/cycles/{pub.cycle_id}", 303)
