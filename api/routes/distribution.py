"""The distribution center's pull: the published allocation per route and day, the feed of publications, the pick list."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, read_session, require
from api.params import CycleId, text_filter
from api.schemas import Page
from api.schemas_runs import PickLineOut, PublicationOut, PublicationsPage, PublishedOut
from models import distribution
from models.users import Principal

router = APIRouter(tags=["distribution"])
Puller = Annotated[Principal, Depends(require(Role.DISTRIBUTION_CENTER, Role.ADMIN, Role.AUDITOR, Role.ACCOUNT_MANAGER))]
Warehouse = Annotated[Principal, Depends(require(Role.DISTRIBUTION_CENTER, Role.ADMIN, Role.AUDITOR))]
NOT_PUBLISHED = {404: {"description": "no such cycle"},
                 409: {"description": "the cycle is not published yet (not_published)"}}
RouteId = text_filter("only this delivery route", min_length=1)
Weekday = Annotated[int | None, Query(ge=1, le=7, description="only this delivery weekday (1 = Monday)")]

PULL_RULES = """The published allocation, one row per demand line (as in the allocations file) plus the
retailer's `route_id` and `delivery_weekday` and `value` = wholesale price × allocated, an exact decimal
string in yuan with 2 places (route, weekday and price as in the master data now). Ordered by
(retailer_id, brand_code); `next_cursor` continues after the last row, and as published rows never change,
paging never skips or repeats a row. An account manager sees his own retailers' rows only.
409 `not_published` before the cycle is published."""


@router.get("/v1/cycles/{cycle_id}/allocations", response_model=Page[PublishedOut], description=PULL_RULES,
            responses=NOT_PUBLISHED)
def get_allocations(cycle_id: CycleId, session: SessionDep, principal: Puller, paging: PageDep,
                    route_id: RouteId = None, delivery_weekday: Weekday = None):
    """One page of the cycle's published allocation, encoded directly: plain strings and ints need no model pass."""
    items, nxt = distribution.published_rows(session, principal, cycle_id, paging.cursor, paging.limit,
                                             route_id, delivery_weekday)
    body = json.dumps({"items": items, "next_cursor": nxt}, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.get("/v1/cycles/{cycle_id}/allocations.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}, **NOT_PUBLISHED},
            description="Every row of `GET /v1/cycles/{cycle_id}/allocations` as one CSV file, streamed; "
                        "same filters and visibility; 409 `not_published` before publishing.")
def get_allocations_csv(cycle_id: CycleId, request: Request, session: SessionDep, principal: Puller,
                        route_id: RouteId = None, delivery_weekday: Weekday = None):
    """The published allocation as a file, without paging; rows are read while they are sent."""
    cycle = distribution.published_cycle(session, principal, cycle_id)

    def body():
        with read_session(request.app) as reader:
            yield from distribution.published_csv(reader, principal, cycle, route_id, delivery_weekday)

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="cycle-{cycle.id}-allocations.csv"'})


@router.get("/v1/publications", response_model=PublicationsPage)
def get_publications(session: SessionDep, principal: Warehouse, paging: PageDep):
    """Published cycles in publish order; keep `resume_cursor` to ask later for only what is new."""
    rows, nxt, resume = distribution.list_publications(session, principal, paging.cursor, paging.limit)
    items = [PublicationOut(publication_id=r.id, cycle_id=r.cycle_id, cycle_name=r.cycle_name,
                            run_id=r.run_id, published_at=r.published_at) for r in rows]
    return {"items": items, "next_cursor": nxt, "resume_cursor": resume}


@router.get("/v1/cycles/{cycle_id}/pick-list", response_model=Page[PickLineOut], responses=NOT_PUBLISHED)
def get_pick_list(cycle_id: CycleId, session: SessionDep, principal: Warehouse, paging: PageDep,
                  route_id: RouteId = None, delivery_weekday: Weekday = None):
    """Cartons to pick per spec, also as whole 大箱 (250 条) and loose 条; 409 `not_published` before publishing."""
    items, nxt = distribution.pick_list(session, principal, cycle_id, paging.cursor, paging.limit,
                                        route_id, delivery_weekday)
    return {"items": items, "next_cursor": nxt}
