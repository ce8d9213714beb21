"""Cycles and their supply: create, read, close (freeze supply and caps) and reopen until published."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import CycleId
from api.idempotency import IdempotencyDep
from api.schemas import Page
from api.schemas_caps import CycleIn, CycleOut, SupplyLineIn, SupplyLineOut, SupplySummary
from api.schemas_summary import CycleSummaryOut
from models import cycles
from models.summary import cycle_summary
from models.users import Principal

router = APIRouter(tags=["cycles"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
AnyRole = Annotated[Principal, Depends(require(*Role))]
Board = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]
SupplyReader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR, Role.DISTRIBUTION_CENTER))]


@router.post("/v1/cycles", status_code=201, response_model=CycleOut,
             responses={409: {"description": "a cycle of that name exists (code cycle_name_taken)"}})
def create_cycle(body: CycleIn, session: SessionDep, principal: Admin, idem: IdempotencyDep):
    """Start a cycle; it is `planned` until `opens_at` (default now), then `open` for orders."""
    cycle = cycles.create_cycle(session, principal, body.name, body.start_date, body.end_date, body.opens_at)
    return idem.respond(CycleOut.model_validate(cycle), 201)


@router.get("/v1/cycles", response_model=Page[CycleOut])
def get_cycles(session: SessionDep, principal: AnyRole, paging: PageDep):
    """Every cycle of the company, oldest first (by id), each with the status it has now."""
    items, nxt = cycles.list_cycles(session, principal.company_id, paging.cursor, paging.limit)
    return {"items": items, "next_cursor": nxt}


@router.get("/v1/cycles/{cycle_id}", response_model=CycleOut)
def get_cycle(cycle_id: CycleId, session: SessionDep, principal: AnyRole):
    """One cycle with its status."""
    return cycles.get_cycle(session, principal.company_id, cycle_id)


@router.get("/v1/cycles/{cycle_id}/summary", response_model=CycleSummaryOut)
def get_summary(cycle_id: CycleId, session: SessionDep, principal: Board):
    """What the cycle board shows: state, orders by channel and status, collected orders pending, retailers
    without a cap, and demand against supply per spec (with the allocation once published)."""
    return cycle_summary(session, principal, cycle_id)


@router.post("/v1/cycles/{cycle_id}/close", response_model=CycleOut,
             responses={409: {"description": "not open (cycle_state), or retailers with an order but no cap "
                                             "(retailers_without_cap, listed in `retailer_ids`)"}})
def close_cycle(cycle_id: CycleId, session: SessionDep, principal: Admin, idem: IdempotencyDep):
    """No more orders; supply and caps freeze so the allocation runs on a fixed snapshot."""
    return idem.respond(CycleOut.model_validate(cycles.close_cycle(session, principal, cycle_id)))


@router.post("/v1/cycles/{cycle_id}/reopen", response_model=CycleOut,
             responses={409: {"description": "not closed (cycle_state) or already published (cycle_published)"}})
def reopen_cycle(cycle_id: CycleId, session: SessionDep, principal: Admin, idem: IdempotencyDep):
    """Back to `open`, only while nothing is published."""
    return idem.respond(CycleOut.model_validate(cycles.reopen_cycle(session, principal, cycle_id)))


@router.put("/v1/cycles/{cycle_id}/supply", response_model=SupplySummary,
            responses={409: {"description": "the cycle is closed or published (cycle_state)"}})
def put_supply(cycle_id: CycleId, body: list[SupplyLineIn], session: SessionDep, principal: Admin):
    """Replace the cycle's supply by spec (a spec left out has supply 0); allowed while planned or open."""
    return cycles.replace_supply(session, principal, cycle_id, [(x.brand_code, x.quantity) for x in body])


@router.get("/v1/cycles/{cycle_id}/supply", response_model=Page[SupplyLineOut])
def get_supply(cycle_id: CycleId, session: SessionDep, principal: SupplyReader, paging: PageDep):
    """The cycle's supply by spec code (one page of up to 1000 specs holds a city's whole range)."""
    rows, nxt = cycles.list_supply(session, principal.company_id, cycle_id, paging.cursor, paging.limit)
    return {"items": rows, "next_cursor": nxt}  # SupplyLineOut reads brand_code and quantity off each row
