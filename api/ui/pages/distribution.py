"""/ui/distribution: publications, the pick list per route and delivery day (printable, 大箱 + 条), CSV files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from allocation.vocabulary import PAGE_LIMIT_MAX, Role
from api.deps import SessionDep, read_session
from api.ui.i18n import N_
from api.ui.render import NavItem, render, url
from api.ui.session import page_for
from models import distribution
from models.master import delivery_routes
from models.users import Principal

router = APIRouter()
NAV = [NavItem(10, "/ui/distribution", N_("Distribution"), ("distribution_center",))]
Warehouse = Annotated[Principal, Depends(page_for(Role.DISTRIBUTION_CENTER, Role.ADMIN, Role.AUDITOR))]
Cursor = Annotated[str | None, Query(max_length=500)]
RouteId = Annotated[str | None, Query(max_length=64)]
Weekday = Annotated[int | None, Query(ge=1, le=7)]
PAGE = 50


@router.get("/ui/distribution")
def publications(request: Request, session: SessionDep, principal: Warehouse, cursor: Cursor = None):
    """Published cycles in the order they were published, newest page last, as the warehouse pulls them."""
    rows, nxt, _ = distribution.list_publications(session, principal, cursor, PAGE)
    return render(request, "distribution.html", rows=rows,
                  next_href=url("/ui/distribution", cursor=nxt) if nxt else None,
                  first_href="/ui/distribution" if cursor else None)


@router.get("/ui/distribution/{cycle_id}")
def pick_list(cycle_id: str, request: Request, session: SessionDep, principal: Warehouse, route_id: RouteId = None,
              delivery_weekday: Weekday = None, cursor: Cursor = None):
    """Cartons to pick per spec for one route and delivery day (or all), in 大箱 and loose 条; printable."""
    cycle = distribution.published_cycle(session, principal, cycle_id)
    lines, nxt = distribution.pick_list(session, principal, cycle.id, cursor, PAGE_LIMIT_MAX, route_id or None,
                                        delivery_weekday)
    filters = {"route_id": route_id or None, "delivery_weekday": delivery_weekday}
    return render(request, "pick_list.html", cycle=cycle, lines=lines, filters=filters,
                  routes=delivery_routes(session, principal.company_id),
                  totals={k: sum(x[k] for x in lines) for k in ("cartons", "cases", "cartons_over")},
                  csv_href=url(f"/ui/distribution/{cycle.id}/allocations.csv", **filters),
                  next_href=url(f"/ui/distribution/{cycle.id}", **filters, cursor=nxt) if nxt else None,
                  first_href=url(f"/ui/distribution/{cycle.id}", **filters) if cursor else None)


@router.get("/ui/distribution/{cycle_id}/allocations.csv")
def allocations_csv(cycle_id: str, request: Request, session: SessionDep, principal: Warehouse,
                    route_id: RouteId = None, delivery_weekday: Weekday = None):
    """The published rows for the route and day as a CSV file, streamed by the function the API's export uses."""
    cycle = distribution.published_cycle(session, principal, cycle_id)

    def body():
        with read_session(request.app) as reader:
            yield from distribution.published_csv(reader, principal, cycle, route_id or None, delivery_weekday)

    name = "-".join(str(x) for x in (f"cycle-{cycle.id}", route_id, delivery_weekday) if x)
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}-allocations.csv"'})
