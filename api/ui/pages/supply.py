"""/ui/supply-plan/{cycle_id} and /ui/scenarios/{id}: the supply plan of a coming cycle, and a what-if against its run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from allocation.vocabulary import SHORT_REASONS, Role, values
from api.deps import SessionDep
from api.ui import charts
from api.ui.i18n import N_
from api.ui.labels import REASON_LABELS
from api.ui.render import render, translator, url
from api.ui.session import page_for
from models import cycles
from models import scenarios as what_if
from models import supply_plan as plans
from models.pagination import frame_page
from models.users import Principal

router = APIRouter()
Reader = Annotated[Principal, Depends(page_for(Role.ADMIN, Role.AUDITOR))]
Cursor = Annotated[str | None, Query(max_length=500)]
PAGE = 50
SHORT = values(SHORT_REASONS)
TIGHT = (4, 5)  # the price classes supplied at a slightly tight balance by default (稍紧平衡)
CLASS, PROJECTED, PROPOSED = N_("class"), N_("Projected demand"), N_("Proposed supply")
RUN, SCENARIO = N_("Run"), N_("Scenario")


@router.get("/ui/supply-plan/{cycle_id}")
def supply_plan_page(cycle_id: str, request: Request, session: SessionDep, principal: Reader, cursor: Cursor = None):
    """Projected demand against the proposed supply per spec, price classes and their factors marked."""
    t = translator(request)
    plan = plans.supply_plan_of(session, principal.company_id, cycle_id)
    shown, nxt = frame_page(plan.rows, ["brand_code"], cursor, PAGE)
    rows = shown.astype(object).where(shown.notna(), None).to_dict("records")
    labels = [f"{r['brand_code']} · {t(CLASS)} {r['price_class']}" for r in rows]
    per_spec = charts.bars(labels, [(t(PROJECTED), [r["projected_demand"] for r in rows]),
                                    (t(PROPOSED), [r["proposed"] for r in rows])], horizontal=True)
    classes = sorted(plan.totals["by_price_class"].items())
    per_class = charts.bars([f"{t(CLASS)} {k}" for k, _ in classes],
                            [(t(PROJECTED), [v["projected_demand"] for _, v in classes]),
                             (t(PROPOSED), [v["proposed"] for _, v in classes])])
    return render(request, "supply_plan.html", plan=plan, cycle=cycles.cycle_out(plan.cycle), rows=rows,
                  per_spec=per_spec, per_class=per_class, spec_height=max(240, 26 * len(rows) + 60), TIGHT=TIGHT,
                  next_href=url(f"/ui/supply-plan/{plan.cycle.id}", cursor=nxt) if nxt else None,
                  first_href=f"/ui/supply-plan/{plan.cycle.id}" if cursor else None)


@router.get("/ui/scenarios/{scenario_id}")
def scenario_page(scenario_id: str, request: Request, session: SessionDep, principal: Reader, cursor: Cursor = None):
    """The what-if's totals and certificate, and its comparison with the run as charts, with the changed lines."""
    t = translator(request)
    scenario = what_if.refresh_comparison(session, what_if.get_scenario(session, principal.company_id, scenario_id))
    shown = what_if.scenario_out(scenario)
    cycle = cycles.get_cycle(session, principal.company_id, scenario.cycle_id)
    comparison = shown["comparison"]
    fill = what_if.fill_ratios(session, principal, scenario_id)
    sides = [(t(SCENARIO), fill["scenario"])] + ([(t(RUN), fill["run"])] if fill["run"] is not None else [])
    histogram = charts.bars(fill["buckets"], sides)
    shortfall, changed, nxt = None, [], None
    if comparison is not None:
        short_specs = [x for x in comparison["shortfall_by_spec"] if x["run"] or x["scenario"]]
        shortfall = charts.bars([x["brand_code"] for x in short_specs],
                                [(t(RUN), [x["run"] for x in short_specs]),
                                 (t(SCENARIO), [x["scenario"] for x in short_specs])], horizontal=True)
        found, nxt = what_if.scenario_allocations(session, principal, scenario_id, cursor, PAGE, changed=True)
        changed = [r._asdict() for r in found]
    return render(request, "scenario.html", s=shown, cycle=cycles.cycle_out(cycle), comparison=comparison,
                  histogram=histogram, shortfall=shortfall, changed=changed, SHORT=SHORT, REASONS=REASON_LABELS,
                  shortfall_height=max(240, 26 * len(comparison["shortfall_by_spec"]) + 60) if comparison else 0,
                  next_href=url(f"/ui/scenarios/{shown['id']}", cursor=nxt) if nxt else None,
                  first_href=f"/ui/scenarios/{shown['id']}" if cursor else None)
