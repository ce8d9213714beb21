"""Cycles and their states: planned -> open -> closed -> published (closed -> open by reopen)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.errors import Conflict, NotFound
from models.tables import Cycle
from models.types import utcnow


def status_of(cycle: Cycle, now: datetime | None = None) -> str:
    """A planned cycle is open from its opens_at on, without anybody having to flip it."""
    if cycle.status == "planned" and cycle.opens_at <= (now or utcnow()):
        return "open"
    return cycle.status


def get_cycle(session: Session, company_id: int, cycle_id: int | str, for_update: bool = False,
              for_share: bool = False) -> Cycle:
    """The company's cycle or 404.

    for_update (state changes: close, reopen, publish) and for_share (writes that need the state to hold:
    orders, approvals, forecasts) make those two kinds serialize on PostgreSQL, so nothing is acknowledged
    after a close; SQLite serializes every writer anyway.
    """
    try:
        cid = int(cycle_id)
    except (TypeError, ValueError):
        raise NotFound(f"no cycle {cycle_id!r}") from None
    lock = {"read": True} if for_share and not for_update else for_update
    cycle = session.get(Cycle, cid, with_for_update=lock or None, populate_existing=bool(lock))
    if cycle is None or cycle.company_id != company_id:
        raise NotFound(f"no cycle {cycle_id!r}")
    return cycle


def require_status(cycle: Cycle, *allowed: str, doing: str) -> str:
    """409 with a sentence saying why, unless the cycle is in one of the allowed states."""
    status = status_of(cycle)
    if status not in allowed:
        raise Conflict(f"cannot {doing}: cycle {cycle.id} ({cycle.name}) is {status}; "
                       f"this needs it {' or '.join(allowed)}", "cycle_state", status=status)
    return status
