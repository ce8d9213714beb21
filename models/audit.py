"""The audit log: who did what, when, to which object, old -> new; written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from models.pagination import page
from models.tables import AuditEvent
from models.types import utcnow
from models.users import Principal


def record(session: Session, principal: Principal | None, action: str, object_type: str, object_id: Any,
           old: dict | None = None, new: dict | None = None, reason: str | None = None,
           company_id: int | None = None) -> None:
    """One audit event, inserted with a plain statement (no unit-of-work bookkeeping on the hot paths)."""
    session.execute(insert(AuditEvent).values(
        company_id=company_id if company_id is not None else principal.company_id,
        actor_user_id=principal.user_id if principal else None,
        actor_role=principal.role if principal else None,
        action=action, object_type=object_type, object_id=str(object_id), old=old, new=new, reason=reason,
        at=utcnow()))


def list_events(session: Session, company_id: int, cursor: str | None, limit: int, object_type: str | None = None,
                object_id: str | None = None, action: str | None = None, actor_user_id: int | None = None):
    stmt = select(AuditEvent).where(AuditEvent.company_id == company_id)
    for col, value in ((AuditEvent.object_type, object_type), (AuditEvent.object_id, object_id),
                       (AuditEvent.action, action), (AuditEvent.actor_user_id, actor_user_id)):
        if value is not None:
            stmt = stmt.where(col == value)
    rows, nxt = page(session, stmt, [AuditEvent.id], cursor, limit, key_of=lambda r: [r[0].id])
    return [r[0] for r in rows], nxt
