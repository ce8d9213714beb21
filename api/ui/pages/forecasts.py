"""/ui/forecasts: an account manager's forecast per spec for a planned cycle, made before any order is seen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from allocation.vocabulary import PAGE_LIMIT_MAX, CycleState, Role
from api.deps import SessionDep
from api.ui.i18n import N_
from api.ui.render import NavItem, render, url
from api.ui.session import page_for
from models import forecasts
from models.cycles import get_cycle
from models.errors import Invalid, NotFound
from models.master import list_brands
from models.users import Principal
from models.worklist import cycles_in_state

router = APIRouter()
NAV = [NavItem(32, "/ui/forecasts", N_("Forecasts"), ("account_manager",))]
AccountManager = Annotated[Principal, Depends(page_for(Role.ACCOUNT_MANAGER))]


@router.get("/ui/forecasts")
def forecast_form(request: Request, session: SessionDep, principal: AccountManager,
                  cycle_id: Annotated[str | None, Query(max_length=64)] = None,
                  saved: Annotated[int | None, Query(ge=1)] = None):
    """Every spec with his current forecast for the chosen planned cycle (the nearest one by default)."""
    planned = cycles_in_state(session, principal.company_id, CycleState.PLANNED)
    cycle = get_cycle(session, principal.company_id, cycle_id) if cycle_id else (planned[-1] if planned else None)
    current = None
    if cycle is not None:
        try:
            current = forecasts.get_forecast(session, principal, str(cycle.id), principal.manager_id)
        except NotFound:
            current = None
    brands, _ = list_brands(session, principal, None, PAGE_LIMIT_MAX)
    quantities = {x["brand_code"]: x["quantity"] for x in current["lines"]} if current else {}
    return render(request, "forecasts.html", cycle=cycle, planned=planned, current=current, brands=brands,
                  quantities=quantities, saved=saved)


@router.post("/ui/forecasts/{cycle_id}")
def submit_forecast(cycle_id: str, session: SessionDep, principal: AccountManager,
                    brand_code: Annotated[list[str], Form(max_length=PAGE_LIMIT_MAX)] = (),
                    quantity: Annotated[list[str], Form(max_length=PAGE_LIMIT_MAX)] = ()):
    """His whole forecast for the cycle as a new version (only while it is planned, as in the API)."""
    if len(brand_code) != len(quantity):
        raise Invalid("the form is malformed; reload it", "invalid_request")
    lines = []
    for code, qty in zip(brand_code, quantity):
        qty = qty.strip()
        if qty in ("", "0"):
            continue
        if not qty.isdigit():
            raise Invalid(f"{code}: forecast {qty!r} is not a whole number of cartons", "invalid_quantity")
        lines.append({"brand_code": code, "quantity": int(qty)})
    stored = forecasts.replace_forecast(session, principal, cycle_id, principal.manager_id, lines)
    return RedirectResponse(url("/ui/forecasts", cycle_id=cycle_id, saved=stored["version"]), 303)
