"""/ui/audit: the audit log for auditors and the marketing department, filtered and paged like the API's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from allocation.vocabulary import PAGE_LIMIT_MAX, Role
from api.deps import SessionDep
from api.ui.i18n import N_
from api.ui.render import NavItem, render, url
from api.ui.session import page_for
from models.audit import list_events
from models.users import Principal

router = APIRouter()
NAV = [NavItem(90, "/ui/audit", N_("Audit log"), (Role.AUDITOR, Role.ADMIN))]
PAGE = 50
Reader = Annotated[Principal, Depends(page_for(Role.AUDITOR, Role.ADMIN))]
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/ui/audit")
def audit_log(request: Request, session: SessionDep, principal: Reader, object_type: Text = None,
              object_id: Text = None, action: Text = None, cursor: Annotated[str | None, Query(max_length=500)] = None,
              limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE):
    """Who did what, when, to which object, old -> new; the same function and filters as GET /v1/audit-events."""
    filters = {"object_type": object_type or None, "object_id": object_id or None, "action": action or None}
    events, nxt = list_events(session, principal.company_id, cursor, limit, **filters)
    filters["limit"] = limit if limit != PAGE else None
    return render(request, "audit.html", events=events, filters=filters,
                  next_href=url("/ui/audit", **filters, cursor=nxt) if nxt else None,
                  first_href=url("/ui/audit", **filters) if cursor else None)
