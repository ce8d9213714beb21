"""An account manager's worklist: his retailers in a cycle with their order, cap and warnings; cycles by state."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlmodel import Session

from allocation.vocabulary import CycleState
from models.cycles import cycle_status_sql, get_cycle
from models.master import scope_retailers
from models.orders import cap_warnings, order_status
from models.pagination import page
from models.tables import Cap, Cycle, Retailer
from models.tables_demand import Order
from models.users import Principal

RECENT = 50  # the newest cycles looked at when a page picks "the open cycle" or "the planned cycle"


def cycles_in_state(session: Session, company_id: int, *states: CycleState) -> list[Cycle]:
    """The company's newest cycles (at most RECENT) in these states as they are now (a planned cycle past
    opens_at is open), newest first."""
    stmt = (select(Cycle).where(Cycle.company_id == company_id, cycle_status_sql().in_([str(s) for s in states]))
            .order_by(Cycle.id.desc()).limit(RECENT))
    return list(session.execute(stmt).scalars())


def retailers_in_cycle(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None,
                       limit: int) -> tuple[Cycle, list[dict], str | None]:
    """Every retailer the caller may see, by id, with its order in the cycle (or none: no demand), cap and
    warnings."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    stmt = (select(Retailer.retailer_id, Retailer.name, Retailer.status, Retailer.manager_id, Order.version,
                   Order.channel, Order.total, Order.approved_version, Cap.cap)
            .outerjoin(Order, and_(Order.cycle_id == cycle.id, Order.retailer_id == Retailer.retailer_id))
            .outerjoin(Cap, and_(Cap.cycle_id == cycle.id, Cap.retailer_id == Retailer.retailer_id))
            .where(Retailer.company_id == principal.company_id))
    rows, nxt = page(session, scope_retailers(stmt, principal), [Retailer.retailer_id], cursor, limit)
    items = []
    for r in rows:
        ordered = r.version is not None
        items.append({"retailer_id": r.retailer_id, "name": r.name, "status": r.status, "manager_id": r.manager_id,
                      "version": r.version, "channel": r.channel, "total": r.total if ordered else None,
                      "order_status": order_status(r.channel, r.version, r.approved_version) if ordered else None,
                      "cap": r.cap, "warnings": cap_warnings(r.total, r.cap) if ordered else []})
    return cycle, items, nxt
