"""The floating-cap policy, per-cycle caps and cap adjustments: upper limits on a retailer's total, never a floor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import ValidationError

from allocation.cap_policy import CapPolicy
from allocation.floors import floor_like_field
from allocation.vocabulary import AdjustmentState, CapSource, Role
from api.deps import PageDep, SessionDep, require
from api.params import AdjustmentId, CycleId, ManagerFilter
from api.errors import FLOOR_RULE, validation_sentence
from api.idempotency import IdempotencyDep
from api.schemas import Page
from api.schemas_caps import (
    AdjustmentIn,
    AdjustmentOut,
    CapIn,
    CapOut,
    CapsSetSummary,
    ComputeSummary,
    PolicyOut,
    RejectIn,
)
from models import cap_adjustments as adjustments
from models import caps
from models.errors import Invalid
from models.users import Principal

router = APIRouter(tags=["caps"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
PolicyReader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]
CapReader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR, Role.ACCOUNT_MANAGER, Role.MARKET_MANAGER))]
AccountManager = Annotated[Principal, Depends(require(Role.ACCOUNT_MANAGER))]
MarketManager = Annotated[Principal, Depends(require(Role.MARKET_MANAGER))]

POLICY_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/CapPolicy"}}}}}


def parse_policy(body: dict[str, Any]) -> CapPolicy:
    """Validate a policy body, refusing a floor-like field by the rule it breaks rather than as a typo."""
    found = floor_like_field(body)
    if found:
        field = "".join(found)
        raise Invalid(f"{FLOOR_RULE}; field {field} is refused", "floor_or_quota_refused", field=field)
    try:
        return CapPolicy.model_validate(body)
    except ValidationError as exc:
        raise Invalid(validation_sentence(exc.errors()), "invalid_request") from None


def shown(adj) -> AdjustmentOut:
    """The adjustment serialized exactly as the GET routes do, so a replayed POST answers the same bytes."""
    return AdjustmentOut.model_validate(adj)


@router.get("/v1/cap-policy", response_model=PolicyOut)
def get_policy(session: SessionDep, principal: PolicyReader):
    """The floating-cap policy in force (a fresh company starts at version 1, the defaults)."""
    return caps.current_policy(session, principal.company_id)


@router.put("/v1/cap-policy", response_model=PolicyOut, openapi_extra=POLICY_BODY,
            responses={422: {"description": "a floor, minimum or per-spec field (floor_or_quota_refused) or a bad value"}})
def put_policy(body: Annotated[dict[str, Any], Body()], session: SessionDep, principal: Admin):
    """Adopt a new policy version (old versions stay as they were); an identical body keeps the current one."""
    return caps.put_policy(session, principal, parse_policy(body))


@router.post("/v1/cycles/{cycle_id}/caps/compute", response_model=ComputeSummary,
             responses={409: {"description": "the cycle is closed or published (cycle_state)"}})
def compute_caps(cycle_id: CycleId, session: SessionDep, principal: Admin, idem: IdempotencyDep,
                 overwrite: Annotated[bool, Query(description="also replace caps that were set or adjusted")] = False):
    """Cap every active retailer from the policy in force; caps set by hand or adjusted stay unless overwrite=true."""
    return idem.respond(ComputeSummary.model_validate(caps.compute_cycle_caps(session, principal, cycle_id, overwrite))
                        .model_dump(mode="json"))


@router.put("/v1/cycles/{cycle_id}/caps", response_model=CapsSetSummary,
            responses={422: {"description": "bad value, unknown retailer, or a floor/per-spec field "
                                            "(floor_or_quota_refused)"},
                       409: {"description": "the cycle is closed or published (cycle_state)"}})
def put_caps(cycle_id: CycleId, body: list[CapIn], session: SessionDep, principal: Admin):
    """Set the listed caps (source `set`), leaving every other cap of the cycle as it is."""
    return caps.set_caps(session, principal, cycle_id, [(x.retailer_id, x.cap, x.weight) for x in body])


@router.get("/v1/cycles/{cycle_id}/caps", response_model=Page[CapOut])
def get_caps(cycle_id: CycleId, session: SessionDep, principal: CapReader, paging: PageDep,
             manager_id: ManagerFilter = None,
             source: Annotated[CapSource | None, Query()] = None):
    """Caps by retailer id with their basis; managers see their own (or their team's) retailers."""
    items, nxt = caps.list_caps(session, principal, cycle_id, paging.cursor, paging.limit, manager_id, source)
    return {"items": items, "next_cursor": nxt}


@router.post("/v1/cycles/{cycle_id}/cap-adjustments", status_code=201, response_model=AdjustmentOut,
             responses={404: {"description": "the cycle, or a retailer that is not yours"},
                        409: {"description": "a retailer gives more than its cap (adjustment_exceeds_cap), "
                                             "or the cycle is closed (cycle_state)"}})
def create_adjustment(cycle_id: CycleId, body: AdjustmentIn, session: SessionDep, principal: AccountManager,
                      idem: IdempotencyDep):
    """Propose moving cap between your own retailers (their total stays the same); pending until approved."""
    adj = adjustments.create_adjustment(session, principal, cycle_id, [m.model_dump() for m in body.moves],
                                        body.reason)
    return idem.respond(shown(adj), 201)


@router.get("/v1/cycles/{cycle_id}/cap-adjustments", response_model=Page[AdjustmentOut])
def get_adjustments(cycle_id: CycleId, session: SessionDep, principal: CapReader, paging: PageDep,
                    status: Annotated[AdjustmentState | None, Query()] = None):
    """A cycle's adjustments oldest first; managers see their own (or their team's)."""
    items, nxt = adjustments.list_adjustments(session, principal, cycle_id, paging.cursor, paging.limit, status)
    return {"items": items, "next_cursor": nxt}


@router.get("/v1/cap-adjustments/{adjustment_id}", response_model=AdjustmentOut)
def get_adjustment(adjustment_id: AdjustmentId, session: SessionDep, principal: CapReader):
    """One adjustment, if it is yours, your team's, or you are admin or auditor."""
    return adjustments.visible_adjustment(session, principal, adjustment_id)


@router.post("/v1/cap-adjustments/{adjustment_id}/approve", response_model=AdjustmentOut,
             responses={404: {"description": "not an adjustment of your team"},
                        409: {"description": "decided already, caps changed meanwhile, or the cycle is closed"}})
def approve_adjustment(adjustment_id: AdjustmentId, session: SessionDep, principal: MarketManager, idem: IdempotencyDep):
    """The moves take effect together; each touched cap becomes `adjusted` and its basis names this adjustment."""
    return idem.respond(shown(adjustments.approve_adjustment(session, principal, adjustment_id)))


@router.post("/v1/cap-adjustments/{adjustment_id}/reject", response_model=AdjustmentOut,
             responses={404: {"description": "not an adjustment of your team"},
                        409: {"description": "decided already or the cycle is closed"}})
def reject_adjustment(adjustment_id: AdjustmentId, session: SessionDep, principal: MarketManager, idem: IdempotencyDep,
                      body: RejectIn | None = None):
    """Turn the proposal down; caps stay as they are."""
    adj = adjustments.reject_adjustment(session, principal, adjustment_id, body.reason if body else None)
    return idem.respond(shown(adj))
