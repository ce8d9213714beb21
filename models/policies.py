"""Versioned policies (the cap policy, the supply policy): a PUT adds a version, never edits one, and is audited,
so every figure computed from a policy can name the exact rules it came from."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from models import audit
from models.db import upsert
from models.tables import Company
from models.types import utcnow
from models.users import Principal


def _latest(session: Session, table, company_id: int):
    return session.execute(select(table).where(table.company_id == company_id)
                           .order_by(table.version.desc()).limit(1)).scalar_one_or_none()


def current(session: Session, table, company_id: int, defaults: BaseModel):
    """The version in force; a fresh company gets version 1 = the defaults, so it can be used at once."""
    row = _latest(session, table, company_id)
    if row is None:
        # insert-or-nothing, so two first readers at once do not collide on version 1
        upsert(session, table.__table__, [{"company_id": company_id, "version": 1, "created_at": utcnow(),
                                           "params": defaults.model_dump(mode="json")}],
               ["company_id", "version"])
        row = _latest(session, table, company_id)
    return row


def put(session: Session, principal: Principal, table, policy: BaseModel, object_type: str):
    """Add a version (an identical body keeps the current one) and audit it as `<object_type>.update`."""
    session.get(Company, principal.company_id, with_for_update=True)  # versions are numbered one at a time
    now = current(session, table, principal.company_id, type(policy)())
    params = policy.model_dump(mode="json")
    if params == now.params:
        return now  # PUT replaces: repeating it changes nothing
    row = table(company_id=principal.company_id, version=now.version + 1, params=params,
                created_by=principal.user_id)
    session.add(row)
    session.flush()
    audit.record(session, principal, f"{object_type}.update", object_type, row.version,
                 {"version": now.version, "params": now.params}, {"version": row.version, "params": params})
    return row
