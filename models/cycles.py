"""Cycles and their states: planned -> open -> closed -> published (closed -> open by reopen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, bindparam, case, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from allocation.vocabulary import FINAL_CYCLE_STATES, WRITABLE_CYCLE_STATES, CycleState
from models import audit
from models.errors import Conflict, Invalid, NotFound, row_id
from models.master import brand_codes
from models.pagination import entity_page, page
from models.tables import Cap, Cycle, Supply
from models.tables_demand import Order
from models.tables_runs import Publication
from models.types import utcnow
from models.users import Principal

SHOWN = 5  # retailers named in a refusal's sentence; the error body lists them all


def cycle_status(cycle: Cycle, now: datetime | None = None) -> CycleState:
    """A planned cycle is open from its opens_at on, without anybody having to flip it."""
    if cycle.status == CycleState.PLANNED and cycle.opens_at <= (now or utcnow()):
        return CycleState.OPEN
    return CycleState(cycle.status)


def cycle_status_sql(now: datetime | None = None):
    """cycle_status as a SQL expression, for queries that filter or sort on the status a caller would see."""
    opened = and_(Cycle.status == CycleState.PLANNED.value, Cycle.opens_at <= (now or utcnow()))
    return case((opened, CycleState.OPEN.value), else_=Cycle.status)


def get_cycle(session: Session, company_id: int, cycle_id: int | str, for_update: bool = False,
              for_share: bool = False) -> Cycle:
    """The company's cycle or 404.

    for_update (state changes: close, reopen, publish) and for_share (writes that need the state to hold:
    orders, approvals, forecasts) make those two kinds serialize on PostgreSQL, so nothing is acknowledged
    after a close; SQLite serializes every writer anyway.
    """
    cid = row_id(cycle_id, "cycle")
    lock = {"read": True} if for_share and not for_update else for_update
    cycle = session.get(Cycle, cid, with_for_update=lock or None, populate_existing=bool(lock))
    if cycle is None or cycle.company_id != company_id:
        raise NotFound(f"no cycle {cycle_id!r}")
    return cycle


_STATE_FOR_SHARE = (select(Cycle.id, Cycle.company_id, Cycle.name, Cycle.status, Cycle.opens_at)
                    .where(Cycle.id == bindparam("c")).with_for_update(read=True))


def cycle_state(session: Session, company_id: int, cycle_id: int | str):
    """The few cycle fields a hot write path needs, read FOR SHARE in one prepared statement (404 if not ours)."""
    row = session.execute(_STATE_FOR_SHARE, {"c": row_id(cycle_id, "cycle")}).first()
    if row is None or row.company_id != company_id:
        raise NotFound(f"no cycle {cycle_id!r}")
    return row


def require_status(cycle: Cycle, *allowed: CycleState, doing: str) -> CycleState:
    """409 with a sentence saying why, unless the cycle is in one of the allowed states."""
    status = cycle_status(cycle)
    if status not in allowed:
        raise Conflict(f"cannot {doing}: cycle {cycle.id} ({cycle.name}) is {status}; "
                       f"this needs it {' or '.join(allowed)}", "cycle_state", status=status)
    return status


def cycle_out(cycle: Cycle) -> dict:
    """The cycle as callers see it: string ids and the status it has now, not the one last stored."""
    return {"id": str(cycle.id), "name": cycle.name, "start_date": cycle.start_date, "end_date": cycle.end_date,
            "opens_at": cycle.opens_at, "status": cycle_status(cycle), "closed_at": cycle.closed_at,
            "published_at": cycle.published_at,
            "published_run_id": None if cycle.published_run_id is None else str(cycle.published_run_id),
            "created_at": cycle.created_at}


def create_cycle(session: Session, principal: Principal, name: str, start_date: date, end_date: date,
                 opens_at: datetime | None = None) -> Cycle:
    """A new cycle, planned until opens_at (default now); a second cycle of the same name would confuse everyone."""
    taken = session.execute(select(Cycle.id).where(Cycle.company_id == principal.company_id,
                                                   Cycle.name == name)).first()
    if taken is not None:
        raise Conflict(f"a cycle named {name!r} exists already (id {taken[0]}); choose another name",
                       "cycle_name_taken", cycle_id=str(taken[0]))
    cycle = Cycle(company_id=principal.company_id, name=name, start_date=start_date, end_date=end_date,
                  opens_at=(opens_at or utcnow()).astimezone(UTC), status=CycleState.PLANNED)
    try:
        with session.begin_nested():
            session.add(cycle)
            session.flush()
    except IntegrityError:
        raise Conflict(f"a cycle named {name!r} was created at the same time; choose another name",
                       "cycle_name_taken") from None
    audit.record(session, principal, "cycle.create", "cycle", cycle.id, None, _jsonable(cycle_out(cycle)))
    return cycle


def list_cycles(session: Session, company_id: int, cursor: str | None, limit: int,
                newest_first: bool = False) -> tuple[list[Cycle], str | None]:
    """Cycles oldest first by id, so a client paging through never misses one created meanwhile (the board:
    newest first)."""
    stmt = select(Cycle).where(Cycle.company_id == company_id)
    return entity_page(session, stmt, [Cycle.id], cursor, limit, descending=newest_first)


def retailers_without_cap(session: Session, cycle: Cycle) -> list[str]:
    """Retailers that ordered but have no cap: the allocation could not bound them, so closing must wait."""
    # NOT EXISTS plans as an anti-join; NOT IN over a province's 400,000 caps became a scan per order
    capped = select(Cap.retailer_id).where(Cap.cycle_id == Order.cycle_id, Cap.retailer_id == Order.retailer_id)
    stmt = (select(Order.retailer_id).where(Order.cycle_id == cycle.id, ~capped.exists())
            .order_by(Order.retailer_id))
    return list(session.execute(stmt).scalars())


def close_cycle(session: Session, principal: Principal, cycle_id: int | str) -> Cycle:
    """Stop orders and freeze supply and caps, so the allocation runs on a fixed snapshot."""
    cycle = get_cycle(session, principal.company_id, cycle_id, for_update=True)
    require_status(cycle, CycleState.OPEN, doing="close the cycle")
    missing = retailers_without_cap(session, cycle)
    if missing:
        shown = ", ".join(missing[:SHOWN])
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        raise Conflict(f"cannot close cycle {cycle.id}: {len(missing)} retailer(s) have an order but no cap "
                       f"({shown}{more}); set or compute their caps first", "retailers_without_cap",
                       retailer_ids=missing)
    old = {"status": cycle_status(cycle)}
    cycle.status, cycle.closed_at = CycleState.CLOSED, utcnow()
    session.add(cycle)
    session.flush()
    audit.record(session, principal, "cycle.close", "cycle", cycle.id, old,
                 {"status": CycleState.CLOSED, "closed_at": cycle.closed_at.isoformat()})
    return cycle


def reopen_cycle(session: Session, principal: Principal, cycle_id: int | str) -> Cycle:
    """Take orders again after a close, which is only honest while no allocation has been published."""
    cycle = get_cycle(session, principal.company_id, cycle_id, for_update=True)
    published = session.execute(select(Publication.id).where(Publication.cycle_id == cycle.id)).first()
    if published is not None or cycle.status == CycleState.PUBLISHED:
        raise Conflict(f"cannot reopen cycle {cycle.id} ({cycle.name}): its allocation is published and final",
                       "cycle_published", status=CycleState.PUBLISHED)
    require_status(cycle, CycleState.CLOSED, doing="reopen the cycle")
    old = {"status": CycleState.CLOSED, "closed_at": cycle.closed_at.isoformat() if cycle.closed_at else None}
    # opens_at has passed (the cycle was open before its close), so the stored status agrees with cycle_status
    cycle.status, cycle.closed_at = CycleState.OPEN, None
    session.add(cycle)
    session.flush()
    audit.record(session, principal, "cycle.reopen", "cycle", cycle.id, old, {"status": CycleState.OPEN, "closed_at": None})
    return cycle


def _jsonable(values: dict) -> dict:
    """Audit rows hold JSON: dates and times as ISO text."""
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in values.items()}


def duplicates(values: list[str]) -> list[str]:
    """Keys given twice in one list body, which would make 'replace' ambiguous."""
    seen: set[str] = set()
    return sorted({v for v in values if v in seen or seen.add(v)})


def check_spec_lines(session: Session, company_id: int, codes: list[str]) -> None:
    """422 for a spec given twice (which would make 'replace' ambiguous) or one the company does not carry."""
    twice = duplicates(codes)
    if twice:
        raise Invalid(f"brand_code {', '.join(twice[:SHOWN])} appears more than once; give each spec once",
                      "duplicate_line", brand_codes=twice)
    unknown = sorted(set(codes) - brand_codes(session, company_id))
    if unknown:
        raise Invalid(f"unknown spec(s) {', '.join(unknown[:SHOWN])}: load them with the brands first",
                      "unknown_spec", brand_codes=unknown)


def replace_quantities(session: Session, principal: Principal, cycle: Cycle, table, lines: list[tuple[str, int]],
                       action: str) -> dict:
    """Make a cycle's per-spec quantities in `table` (supply, availability) exactly these, audited as `action`."""
    old = dict(session.execute(select(table.brand_code, table.quantity).where(table.cycle_id == cycle.id)).all())
    new = dict(lines)
    session.execute(delete(table).where(table.cycle_id == cycle.id))
    if lines:
        session.execute(insert(table), [{"cycle_id": cycle.id, "brand_code": c, "company_id": principal.company_id,
                                         "quantity": q} for c, q in lines])
    session.flush()
    changed = sorted(c for c in old.keys() | new.keys() if old.get(c) != new.get(c))
    if changed:
        audit.record(session, principal, action, "cycle", cycle.id,
                     {"total": sum(old.values()), "specs": {c: old[c] for c in changed if c in old}},
                     {"total": sum(new.values()), "specs": {c: new[c] for c in changed if c in new}})
    return {"cycle_id": str(cycle.id), "specs": len(new), "total": sum(new.values())}


def replace_supply(session: Session, principal: Principal, cycle_id: int | str,
                   lines: list[tuple[str, int]]) -> dict:
    """Make the cycle's supply exactly these specs (a spec left out has supply 0) until the cycle closes."""
    check_spec_lines(session, principal.company_id, [code for code, _ in lines])
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    require_status(cycle, *WRITABLE_CYCLE_STATES, doing="change the supply")
    return replace_quantities(session, principal, cycle, Supply, lines, "supply.replace")


def list_supply(session: Session, company_id: int, cycle_id: int | str, cursor: str | None, limit: int):
    """The cycle's supply by spec code; a page of 1000 holds a city's few hundred specs at once."""
    cycle = get_cycle(session, company_id, cycle_id)
    stmt = select(Supply.brand_code, Supply.quantity).where(Supply.cycle_id == cycle.id)
    return page(session, stmt, [Supply.brand_code], cursor, limit)



@dataclass(frozen=True)
class ReportQuery:
    """What a report over final cycles covers: one cycle, or the cycles whose start date falls in
    [date_from, date_to]; optionally one manager."""

    cycle_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    manager_id: str | None = None


def final_cycles(session: Session, company_id: int, q: ReportQuery,
                 why: str) -> tuple[list[Cycle], list[Cycle], str | None]:
    """The closed or published cycles a report covers: one cycle (409 unless final, ``why`` saying so), or the
    range's; also the range's cycles left out as not final, and the range's label ('from..to', None for one)."""
    cycle_id, date_from, date_to = q.cycle_id, q.date_from, q.date_to
    if cycle_id is not None:
        if date_from is not None or date_to is not None:
            raise Invalid("give either cycle_id or from and to, not both", "invalid_request")
        cycle = get_cycle(session, company_id, cycle_id)
        status = cycle_status(cycle)
        if status not in FINAL_CYCLE_STATES:
            raise Conflict(f"cycle {cycle.id} ({cycle.name}) is {status}: {why}", "cycle_state", status=status)
        return [cycle], [], None
    if date_from is None or date_to is None:
        raise Invalid("give cycle_id for one cycle, or both from and to (dates) to pool the cycles whose start "
                      "date falls in that range", "invalid_request")
    if date_from > date_to:
        raise Invalid(f"from {date_from} is after to {date_to}", "invalid_request")
    stmt = (select(Cycle).where(Cycle.company_id == company_id, Cycle.start_date >= date_from,
                                Cycle.start_date <= date_to).order_by(Cycle.start_date, Cycle.id))
    cycles = list(session.execute(stmt).scalars())
    final = [c for c in cycles if cycle_status(c) in FINAL_CYCLE_STATES]
    done = {c.id for c in final}
    return final, [c for c in cycles if c.id not in done], f"{date_from}..{date_to}"
