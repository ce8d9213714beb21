"""The supply plan of a coming cycle (按客户订单组织货源, 稍紧平衡): the supply policy, availability, the plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from allocation.supply_plan import PLAN_COLUMNS, SupplyPolicy
from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import CycleId
from api.schemas import Page
from api.schemas_caps import SupplyLineIn, SupplyLineOut, SupplySummary
from api.schemas_supply import SupplyPlanPage, SupplyPolicyOut
from models import supply_plan as plans
from models.pagination import frame_page, frame_records
from models.users import Principal

router = APIRouter(tags=["supply plan"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]

PLAN_RULES = """The supply plan of a cycle, per spec (any cycle state; a proposal: the admin still sets the supply).

* **Parts**: the account managers with at least one active retailer. A manager who stored a forecast for the
  cycle (a forecast version, even an empty one) contributes his forecast line per spec (0 without a line);
  any other manager a projection: the mean week of his current active retailers' demand over the `weeks` ISO
  weeks before the cycle's week, rounded half up. A week's demand is the counted demand of the closed or
  published cycles starting in it (retailer-stated orders and collected ones approved at their current
  version); loaded history fills the weeks no such cycle covers; a week without an order counts 0.
* `projected_demand` D̂ = the parts summed; `basis`: `forecast` when every part came from a forecast,
  `history` when none did, `mixed` otherwise (so it is the same for every spec of one plan).
* `proposed` = min(`available`, D̂ × round(100 × `factor`) // 100), `factor` the supply policy's factor of
  the spec's price class (classes 4-5 at 0.95 by default: slightly tight); `available` is null (unlimited)
  where the cycle's availability does not list the spec.
* Every spec with D̂ > 0 or an availability row, by `brand_code`; a projected spec missing from the brand
  master (delisted) is left out."""


@router.get("/v1/supply-policy", response_model=SupplyPolicyOut)
def get_policy(session: SessionDep, principal: Reader):
    """The supply policy in force (a fresh company starts at version 1, the defaults)."""
    return plans.current_policy(session, principal.company_id)


@router.put("/v1/supply-policy", response_model=SupplyPolicyOut)
def put_policy(body: SupplyPolicy, session: SessionDep, principal: Admin):
    """Adopt a new supply policy version (old versions stay); an identical body keeps the current one."""
    return plans.put_policy(session, principal, body)


@router.put("/v1/cycles/{cycle_id}/availability", response_model=SupplySummary)
def put_availability(cycle_id: CycleId, body: list[SupplyLineIn], session: SessionDep, principal: Admin):
    """Replace what the industrial companies can deliver for the cycle (a spec left out is unlimited); any state."""
    return plans.replace_availability(session, principal, cycle_id, [(x.brand_code, x.quantity) for x in body])


@router.get("/v1/cycles/{cycle_id}/availability", response_model=Page[SupplyLineOut])
def get_availability(cycle_id: CycleId, session: SessionDep, principal: Reader, paging: PageDep):
    """The cycle's availability by spec code."""
    rows, nxt = plans.list_availability(session, principal.company_id, cycle_id, paging.cursor, paging.limit)
    return {"items": rows, "next_cursor": nxt}


@router.get("/v1/cycles/{cycle_id}/supply-plan", response_model=SupplyPlanPage, description=PLAN_RULES)
def get_supply_plan(cycle_id: CycleId, session: SessionDep, principal: Reader, paging: PageDep):
    """The cycle's supply plan per spec, with the policy version, the weeks projected and the totals."""
    plan = plans.supply_plan_of(session, principal.company_id, cycle_id)
    shown, nxt = frame_page(plan.rows, ["brand_code"], paging.cursor, paging.limit)
    items = frame_records(shown)
    return {"items": items, "next_cursor": nxt, "cycle_id": plan.cycle.id, "policy_version": plan.policy_version,
            "weeks": plan.weeks, "managers": plan.managers, "forecasters": plan.forecasters, "totals": plan.totals}


@router.get("/v1/cycles/{cycle_id}/supply-plan.csv", response_class=Response, description=PLAN_RULES,
            responses={200: {"content": {"text/csv": {}}}})
def get_supply_plan_csv(cycle_id: CycleId, session: SessionDep, principal: Reader):
    """The whole plan as CSV (brand_code, price_class, projected_demand, basis, factor, available, proposed);
    `available` is empty where unlimited."""
    plan = plans.supply_plan_of(session, principal.company_id, cycle_id)
    rows = plan.rows.assign(factor=plan.rows["factor"].map("{:.2f}".format)) if len(plan.rows) else plan.rows
    body = rows[PLAN_COLUMNS].to_csv(index=False, lineterminator="\n", na_rep="")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="cycle-{plan.cycle.id}-supply-plan.csv"'})
