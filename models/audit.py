"""The audit log: who did what, when, to which object, old -> new; written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from models.pagination import entity_page
from models.tables import AuditEvent
from models.types import utcnow
from models.users import Principal


def record(session: Session, principal: Principal, action: str, object_type: str, object_id: Any,
           old: dict | None = None, new: dict | None = None, reason: str | None = None) -> None:
    """One audit event, inserted with a plain statement (no unit-of-work bookkeeping on the hot paths)."""
    session.execute(insert(AuditEvent).values(
        company_id=principal.company_id, actor_user_id=principal.user_id, actor_role=principal.role,
        action=action, object_type=object_type, object_id=str(object_id), old=old, new=new, reason=reason,
        at=utcnow()))


def list_events(session: Session, company_id: int, cursor: str | None, limit: int, object_type: str | None = None,
                object_id: str | None = None, action: str | None = None) -> tuple[list[AuditEvent], str | None]:
    """A page of events in the order they happened."""
    stmt = select(AuditEvent).where(AuditEvent.company_id == company_id)
    for col, value in ((AuditEvent.object_type, object_type), (AuditEvent.object_id, object_id),
                       (AuditEvent.action, action)):
        if value is not None:
            stmt = stmt.where(col == value)
    return entity_page(session, stmt, [AuditEvent.id], cursor, limit)
