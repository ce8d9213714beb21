"""The audit log for auditors: who did what, when, to which object, old -> new; read-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import text_filter
from api.schemas import Page
from api.schemas_orders import AuditEventOut
from models.audit import list_events
from models.users import Principal

router = APIRouter(tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Role.AUDITOR, Role.ADMIN))]


@router.get("/v1/audit-events", response_model=Page[AuditEventOut])
def get_audit_events(session: SessionDep, principal: Auditor, paging: PageDep,
                     object_type: text_filter("only events on this kind of object") = None,
                     object_id: text_filter("only events on this object", 200) = None,
                     action: text_filter("only this action") = None):
    """Events in the order they happened, so an auditor can resume from a cursor and miss nothing."""
    items, nxt = list_events(session, principal.company_id, paging.cursor, paging.limit, object_type, object_id,
                             action)
    return {"items": items, "next_cursor": nxt}
