"""/ui/accuracy: forecast accuracy ranks per cycle or pooled over a month or quarter; one manager's trend and
per-spec errors. Auditors and admins see everyone, a market manager his team, an account manager himself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from allocation.vocabulary import FINAL_CYCLE_STATES, Role
from api.deps import SessionDep
from api.ui import charts
from api.ui.i18n import N_
from api.ui.periods import choices, report_query
from api.ui.render import NavItem, render, translator
from api.ui.session import page_for
from models import accuracy as scores
from models.errors import NotFound
from models.master import may_see_manager
from models.pagination import frame_records
from models.users import Principal
from models.worklist import cycles_in_state

router = APIRouter()
NAV = [NavItem(5, "/ui/accuracy", N_("Forecast accuracy"), ("auditor",)),  # the auditor's home
       NavItem(50, "/ui/accuracy", N_("Forecast accuracy"), (Role.ADMIN, Role.MARKET_MANAGER, Role.ACCOUNT_MANAGER))]
Reader = Annotated[Principal, Depends(page_for(Role.AUDITOR, Role.ADMIN, Role.MARKET_MANAGER, Role.ACCOUNT_MANAGER))]
Text = Annotated[str | None, Query(max_length=64)]
TREND_CYCLES = 12  # a manager's trend: his scores over the last this many final cycles
TOP_ERRORS = 50


@router.get("/ui/accuracy")
def ranks(request: Request, session: SessionDep, principal: Reader, cycle_id: Text = None, period: Text = None,
          key_only: bool = False):
    """Ranks by single-brand accuracy (table and bar chart) for a cycle, a month or a quarter."""
    t = translator(request)
    final = cycles_in_state(session, principal.company_id, *FINAL_CYCLE_STATES)
    rows, result = [], None
    if final or period:
        result = scores.score(session, principal, report_query(final, cycle_id, period, scores.AccuracyQuery,
                                                               key_only=key_only))
        rows = frame_records(result.rows.sort_values(["rank", "manager_id"], kind="stable"))
    field = "key_single_brand_accuracy" if key_only else "single_brand_accuracy"
    option = charts.bars([r["manager_id"] for r in rows], [(t("Single-brand accuracy"), [r[field] for r in rows])],
                         horizontal=True, percent=True)
    names = {str(c.id): c.name for c in final}
    for r in rows:
        r["period"] = names.get(str(r["period"]), r["period"])
    return render(request, "accuracy.html", team=rows, final=final, option=option, **choices(final),
                  chosen_cycle=(result.cycle_ids[0] if result and not period and result.cycle_ids else None),
                  period=period, key_only=key_only, not_closed=result.cycles_not_closed if result else [])


@router.get("/ui/accuracy/managers/{manager_id}")
def manager(manager_id: str, request: Request, session: SessionDep, principal: Reader, cycle_id: Text = None):
    """One manager's trend over the last final cycles (line chart) and his per-spec errors in one cycle."""
    if not may_see_manager(session, principal, manager_id):
        raise NotFound(f"no account manager {manager_id!r} among the ones you may see", "manager_not_found")
    t = translator(request)
    final = cycles_in_state(session, principal.company_id, *FINAL_CYCLE_STATES)[:TREND_CYCLES]
    scored = {r["period"]: r for r in frame_records(scores.trend(session, principal, manager_id, final))}
    trend = [(cycle, scored.get(str(cycle.id))) for cycle in reversed(final)]
    fields = (("single_brand_accuracy", t("Single-brand accuracy")), ("total_accuracy", t("Total accuracy")),
              ("key_single_brand_accuracy", t("Key brands, single-brand")))
    option = charts.lines([c.name for c, _ in trend],
                          [(label, [r[f] if r else None for _, r in trend]) for f, label in fields], percent=True)
    errors, shown = [], None
    if final:
        shown = next((c for c in final if str(c.id) == cycle_id), final[0]) if cycle_id else final[0]
        by_spec = scores.score(session, principal, scores.AccuracyQuery(cycle_id=str(shown.id), manager_id=manager_id,
                                                                       level="spec")).rows
        by_spec = by_spec.assign(error=(by_spec["forecast"] - by_spec["actual"]))
        by_spec = by_spec.reindex(by_spec["error"].abs().sort_values(ascending=False, kind="stable").index)
        errors = frame_records(by_spec.head(TOP_ERRORS))
    return render(request, "accuracy_manager.html", manager_id=manager_id, trend=trend, option=option,
                  errors=errors, shown=shown, final=final)
