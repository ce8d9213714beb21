"""The allocation policy: the priority a company's runs use when a request names none (volume unless changed)."""

from __future__ import annotations

from sqlmodel import Session

from allocation.priority import AllocationPolicy
from allocation.vocabulary import Priority
from models import policies
from models.tables import AllocationPolicyVersion
from models.users import Principal


def current_policy(session: Session, company_id: int) -> AllocationPolicyVersion:
    """The allocation policy in force (version 1 puts volume first)."""
    return policies.current(session, AllocationPolicyVersion, company_id, AllocationPolicy())


def put_policy(session: Session, principal: Principal, policy: AllocationPolicy) -> AllocationPolicyVersion:
    """Adopt a new version, audited as allocation_policy.update."""
    return policies.put(session, principal, AllocationPolicyVersion, policy, "allocation_policy")


def default_priority(session: Session, company_id: int) -> Priority:
    """The priority a run uses when its request names none."""
    return AllocationPolicy.model_validate(current_policy(session, company_id).params).priority
