"""/ui/orders: an account manager's retailers in the open cycle, and each retailer's order form (phone-sized)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from allocation.vocabulary import PAGE_LIMIT_MAX, Channel, CycleState, Role
from api.deps import SessionDep
from api.ui.i18n import N_
from api.ui.render import NavItem, render, url
from api.ui.session import page_for
from models import orders
from models.cycles import cycle_status, get_cycle
from models.errors import Invalid, NotFound
from models.master import list_brands, visible_retailer
from models.users import Principal
from models.worklist import cycles_in_state, retailers_in_cycle

router = APIRouter()
NAV = [NavItem(30, "/ui/orders", N_("Orders"), ("account_manager",))]
AccountManager = Annotated[Principal, Depends(page_for(Role.ACCOUNT_MANAGER))]
Cursor = Annotated[str | None, Query(max_length=500)]
PAGE = 100
EMPTY_ROWS = 3  # blank lines under an order's own, for specs the retailer adds


@router.get("/ui/orders")
def worklist(request: Request, session: SessionDep, principal: AccountManager,
             cycle_id: Annotated[str | None, Query(max_length=64)] = None, cursor: Cursor = None):
    """His retailers by id: each one's order total, cap and warnings in the open cycle (no order: no demand)."""
    open_cycles = cycles_in_state(session, principal.company_id, CycleState.OPEN)
    chosen = cycle_id or (str(open_cycles[0].id) if open_cycles else None)
    cycle, rows, nxt = (None, [], None)
    if chosen:
        cycle, rows, nxt = retailers_in_cycle(session, principal, chosen, cursor, PAGE)
    return render(request, "orders.html", cycle=cycle, open_cycles=open_cycles, rows=rows,
                  cycle_status=cycle_status(cycle) if cycle else None,
                  next_href=url("/ui/orders", cycle_id=cycle_id, cursor=nxt) if nxt else None,
                  first_href=url("/ui/orders", cycle_id=cycle_id) if cursor else None)


def _form(request: Request, session, principal: Principal, cycle_id: str, retailer_id: str, status_code: int = 200,
          entered: list[dict] | None = None, channel: str | None = None, **extra):
    cycle = get_cycle(session, principal.company_id, cycle_id)
    retailer = visible_retailer(session, principal, retailer_id)
    try:
        order = orders.get_order(session, principal, cycle_id, retailer_id)
    except NotFound:
        order = None  # no order yet: no demand until the retailer states one
    brands, _ = list_brands(session, principal, None, PAGE_LIMIT_MAX)
    lines = entered if entered is not None else (order["lines"] if order else [])
    return render(request, "order_form.html", status_code, cycle=cycle, cycle_status=cycle_status(cycle),
                  retailer=retailer, order=order, brands=brands, names={b.brand_code: b.name for b in brands},
                  lines=[*lines, *({"brand_code": "", "quantity": ""} for _ in range(EMPTY_ROWS))],
                  channel=channel or (order["channel"] if order else Channel.RETAILER_STATED), **extra)


@router.get("/ui/orders/{cycle_id}/{retailer_id}")
def order_form(cycle_id: str, retailer_id: str, request: Request, session: SessionDep, principal: AccountManager,
               saved: Annotated[int | None, Query(ge=1)] = None):
    """The retailer's order as it stands, editable while the cycle is open; a retailer of another manager: 404."""
    return _form(request, session, principal, cycle_id, retailer_id, saved=saved)


def parse_lines(codes: list[str], quantities: list[str]) -> list[orders.Line]:
    """The form's rows as order lines: a row without a spec is left out; a quantity must be a whole number."""
    lines = []
    for code, qty in zip(codes, quantities):
        code, qty = code.strip(), qty.strip()
        if not code and not qty:
            continue
        if not code:
            raise Invalid(f"a quantity {qty!r} has no spec; choose the spec or clear the quantity", "unknown_spec")
        if not qty.isdigit():
            raise Invalid(f"{code}: quantity {qty!r} is not a whole number of cartons", "invalid_quantity")
        lines.append(orders.Line(code, int(qty)))
    return lines


@router.post("/ui/orders/{cycle_id}/{retailer_id}")
def submit_order(cycle_id: str, retailer_id: str, request: Request, session: SessionDep, principal: AccountManager,
                 brand_code: Annotated[list[str], Form(max_length=PAGE_LIMIT_MAX)] = (),
                 quantity: Annotated[list[str], Form(max_length=PAGE_LIMIT_MAX)] = (),
                 channel: Annotated[str, Form(max_length=32)] = Channel.RETAILER_STATED,
                 version: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None):
    """Replace the retailer's whole order, as the API's PUT does (If-Match the version the form showed)."""
    if channel not in tuple(Channel) or len(brand_code) != len(quantity):
        raise Invalid("the form is malformed; reload it", "invalid_request")
    try:
        lines = parse_lines(list(brand_code), list(quantity))
    except Invalid as exc:
        entered = [{"brand_code": b, "quantity": q} for b, q in zip(brand_code, quantity) if b or q]
        return _form(request, session, principal, cycle_id, retailer_id, 422, entered=entered, channel=channel,
                     error=exc)
    order, _ = orders.put_order(session, principal, cycle_id, retailer_id, lines, channel,
                                request.app.state.settings.max_order_lines,
                                if_match=f'"{version}"' if version else None)
    return RedirectResponse(url(f"/ui/orders/{cycle_id}/{retailer_id}", saved=order["version"]), 303)
