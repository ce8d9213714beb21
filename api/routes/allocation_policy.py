"""The allocation policy: whether the company's runs put volume or the retailers' choice first, versioned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from allocation.priority import AllocationPolicy
from allocation.vocabulary import Role
from api.deps import SessionDep, require
from api.schemas_runs import AllocationPolicyOut
from models import allocation_policy, policies
from models.users import Principal

router = APIRouter(tags=["allocation runs"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]

RULES = """`priority` is what a run puts first when its request names none (DOMAIN.md "Volume first, or choice
first"): `volume` (the default) allocates the most cartons; `choice` first cuts each order above its cap evenly to
the cap, so a capped retailer keeps some of every spec it asked for, then refills the cap room left. Every run
records its priority, and its certificate reports `volume`, `volume_policy_max` and `volume_cost`, so the cost of
choice is always visible. A PUT adds a version (audited, old -> new); an identical body keeps the current one."""


@router.get("/v1/allocation-policy", response_model=AllocationPolicyOut, description=RULES)
def get_allocation_policy(session: SessionDep, principal: Reader):
    """The allocation policy in force (a fresh company starts at version 1: volume first)."""
    return policies.policy_out(allocation_policy.current_policy(session, principal.company_id))


@router.put("/v1/allocation-policy", response_model=AllocationPolicyOut, description=RULES)
def put_allocation_policy(body: AllocationPolicy, session: SessionDep, principal: Admin):
    """Adopt a new allocation policy version (old versions stay as they were)."""
    return policies.policy_out(allocation_policy.put_policy(session, principal, body))
