"""/ui/approvals: a market manager signs off his team's collected orders and decides their cap adjustments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from allocation.vocabulary import FINAL_CYCLE_STATES, AdjustmentState, CycleState, OrderState, Role
from api.deps import SessionDep
from api.ui.i18n import N_
from api.ui.render import NavItem, render, url
from api.ui.session import page_for
from models import accuracy as scores
from models import cap_adjustments as adjustments
from models import orders
from models.cycles import get_cycle
from models.pagination import frame_records
from models.users import Principal
from models.worklist import cycles_in_state

router = APIRouter()
NAV = [NavItem(20, "/ui/approvals", N_("Approvals"), ("market_manager",))]
MarketManager = Annotated[Principal, Depends(page_for(Role.MARKET_MANAGER))]
Cursor = Annotated[str | None, Query(max_length=500)]
PAGE = 50


def team_accuracy(session, principal: Principal) -> tuple[object, list[dict]]:
    """His team's scores in the latest final cycle (ranks among all managers, as the API gives them)."""
    final = cycles_in_state(session, principal.company_id, *FINAL_CYCLE_STATES)
    if not final:
        return None, []
    cycle = next((c for c in final if c.status == CycleState.PUBLISHED), final[0])
    result = scores.score(session, principal, scores.AccuracyQuery(cycle_id=str(cycle.id)))
    return cycle, [{**r, "period": cycle.name} for r in frame_records(result.rows)]


@router.get("/ui/approvals")
def approvals(request: Request, session: SessionDep, principal: MarketManager,
              cycle_id: Annotated[str | None, Query(max_length=64)] = None, cursor: Cursor = None):
    """Collected orders awaiting sign-off and pending cap adjustments of his team, in the open cycle."""
    open_cycles = cycles_in_state(session, principal.company_id, CycleState.OPEN)
    cycle = get_cycle(session, principal.company_id, cycle_id) if cycle_id else (open_cycles[0] if open_cycles else None)
    pending, nxt, proposals = [], None, []
    if cycle is not None:
        pending, nxt = orders.list_orders(session, principal, cycle.id, cursor, PAGE, status=OrderState.PENDING_APPROVAL)
        found, _ = adjustments.list_adjustments(session, principal, cycle.id, None, PAGE, status=AdjustmentState.PENDING)
        proposals = [adjustments.adjustment_out(a) for a in found]
    return render(request, "approvals.html", cycle=cycle, open_cycles=open_cycles, pending=pending,
                  proposals=proposals,
                  next_href=url("/ui/approvals", cycle_id=cycle_id, cursor=nxt) if nxt else None,
                  first_href=url("/ui/approvals", cycle_id=cycle_id) if cursor else None)


@router.get("/ui/approvals/accuracy")
def accuracy_part(request: Request, session: SessionDep, principal: MarketManager):
    """His team's accuracy, loaded into the page after it shows: scoring a city takes longer than the list."""
    scored_cycle, team = team_accuracy(session, principal)
    return render(request, "_team_accuracy.html", team=team, scored_cycle=scored_cycle)


@router.get("/ui/approvals/{cycle_id}/{retailer_id}")
def order_lines(cycle_id: str, retailer_id: str, request: Request, session: SessionDep, principal: MarketManager):
    """The lines of one collected order, as the market manager checks them before signing."""
    return render(request, "_order_lines.html", order=orders.get_order(session, principal, cycle_id, retailer_id))


@router.post("/ui/approvals/{cycle_id}/{retailer_id}/approve")
def approve(cycle_id: str, retailer_id: str, request: Request, session: SessionDep, principal: MarketManager,
            version: Annotated[int, Form(ge=1, le=2_147_483_647)]):
    """Sign off exactly the version that was shown; a newer version is refused (it needs a fresh look)."""
    order = orders.approve_order(session, principal, cycle_id, retailer_id, version)
    if "hx-request" in request.headers:
        return render(request, "_approved_row.html", order=order)
    return RedirectResponse(url("/ui/approvals", cycle_id=cycle_id), 303)


@router.post("/ui/cap-adjustments/{adjustment_id}/{decision}")
def decide(adjustment_id: str, decision: str, request: Request, session: SessionDep, principal: MarketManager,
           reason: Annotated[str | None, Form(max_length=1000)] = None):
    """Approve (the moves take effect together) or reject (caps stay) a pending cap adjustment."""
    if decision == "approve":
        adj = adjustments.approve_adjustment(session, principal, adjustment_id)
    elif decision == "reject":
        adj = adjustments.reject_adjustment(session, principal, adjustment_id, reason or None)
    else:
        from models.errors import NotFound
        raise NotFound(f"no decision {decision!r}; approve or reject")
    if "hx-request" in request.headers:
        return render(request, "_decided_row.html", adj=adjustments.adjustment_out(adj))
    return RedirectResponse(url("/ui/approvals", cycle_id=str(adj.cycle_id)), 303)
