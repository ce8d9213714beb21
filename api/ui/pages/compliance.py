"""/ui/compliance: what auditors check beyond accuracy, per account manager for a cycle or pooled over a month or
quarter: self-submission, identical-order clusters, cap moves, value per carton and key-brand share, with a chart of
self-submission rate and cluster share per manager and the clusters themselves. Auditors and admins see everyone
and the company row, a market manager his team."""

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
from models import compliance
from models.pagination import frame_records
from models.users import Principal
from models.worklist import cycles_in_state

router = APIRouter()
NAV = [NavItem(55, "/ui/compliance", N_("Compliance"), (Role.AUDITOR, Role.ADMIN, Role.MARKET_MANAGER))]
Reader = Annotated[Principal, Depends(page_for(Role.AUDITOR, Role.ADMIN, Role.MARKET_MANAGER))]
Text = Annotated[str | None, Query(max_length=64)]


@router.get("/ui/compliance")
def figures(request: Request, session: SessionDep, principal: Reader, cycle_id: Text = None, period: Text = None):
    """The figures per manager (table and chart) and the clusters, for a cycle (by default the latest final one),
    a month or a quarter."""
    t = translator(request)
    final = cycles_in_state(session, principal.company_id, *FINAL_CYCLE_STATES)
    rows, clusters, result = [], [], None
    if final or period:
        q = report_query(final, cycle_id, period)
        result, found = compliance.figures_and_clusters(session, principal, q)
        rows = frame_records(result.rows)
        clusters = frame_records(found.rows)
    managers = [r for r in rows if r["manager_id"] is not None]
    option = charts.bars([r["manager_id"] for r in managers],
                         [(t("Self-submission rate"), [r["self_submission_rate"] for r in managers]),
                          (t("Cluster share"), [r["cluster_share"] for r in managers])], percent=True)
    names = {str(c.id): c.name for c in final}
    return render(request, "compliance.html", rows=rows, clusters=clusters, option=option, final=final,
                  names=names, period=period, **choices(final),
                  chosen_cycle=(result.cycle_ids[0] if result and not period and result.cycle_ids else None),
                  policy=result.policy if result else None, policy_version=result.policy_version if result else None,
                  not_closed=result.cycles_not_closed if result else [])
