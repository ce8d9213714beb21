"""Versioned company policies: each PUT adds a version, never edits one, so every result can name the rules it used."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from allocation.priority import AllocationPolicy, Priority
from models import audit
from models.db import upsert
from models.tables import AllocationPolicyVersion, Company
from models.types import utcnow
from models.users import Principal


def _latest(session: Session, table, company_id: int):
    return session.execute(select(table).where(table.company_id == company_id)
                           .order_by(table.version.desc()).limit(1)).scalar_one_or_none()


def current_version(session: Session, table, company_id: int, defaults: dict):
    """The version in force; a fresh company gets version 1 = the defaults, so it can work at once."""
    row = _latest(session, table, company_id)
    if row is None:
        # insert-or-nothing, so two first readers at once do not collide on version 1
        upsert(session, table.__table__, [{"company_id": company_id, "version": 1, "created_at": utcnow(),
                                           "params": defaults}], ["company_id", "version"])
        row = _latest(session, table, company_id)
    return row


def put_version(session: Session, principal: Principal, table, params: dict, defaults: dict):
    """Add a version with these params (audited, old -> new); the same params again keep the current version."""
    session.get(Company, principal.company_id, with_for_update=True)  # versions are numbered one at a time
    current = current_version(session, table, principal.company_id, defaults)
    if params == current.params:
        return current  # PUT replaces: repeating it changes nothing
    row = table(company_id=principal.company_id, version=current.version + 1, params=params,
                created_by=principal.user_id)
    session.add(row)
    session.flush()
    name = table.__tablename__
    audit.record(session, principal, f"{name}.update", name, row.version,
                 {"version": current.version, "params": current.params}, {"version": row.version, "params": params})
    return row


_ALLOCATION_DEFAULTS = AllocationPolicy().model_dump(mode="json")


def allocation_policy(session: Session, company_id: int) -> AllocationPolicyVersion:
    """The allocation policy in force (version 1 puts volume first)."""
    return current_version(session, AllocationPolicyVersion, company_id, _ALLOCATION_DEFAULTS)


def put_allocation_policy(session: Session, principal: Principal, policy: AllocationPolicy) -> AllocationPolicyVersion:
    """Adopt a new allocation policy version."""
    return put_version(session, principal, AllocationPolicyVersion, policy.model_dump(mode="json"),
                       _ALLOCATION_DEFAULTS)


def default_priority(session: Session, company_id: int) -> Priority:
    """The priority a run uses when its request names none: the company's policy."""
    return AllocationPolicy.model_validate(allocation_policy(session, company_id).params).priority
