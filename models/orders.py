"""Orders: one retailer's demand per cycle, replaced whole under a row lock, every version kept (rules 2 and 4)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pandas as pd
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlmodel import Session

from allocation.vocabulary import LINE_MAX, Channel, CycleState, OrderState, RetailerStatus
from models import audit
from models.cycles import cycle_state, get_cycle, require_status
from models.db import dialect_insert, read_frame
from models.errors import Conflict, Invalid, NotFound, PreconditionFailed, row_id
from models.master import may_see_manager, scope_retailers, visible_retailer
from models.pagination import entity_page, page
from models.tables import Brand, Cap, Retailer
from models.tables_demand import Order, OrderLine, OrderVersion
from models.types import utcnow
from models.users import Principal

OBJECT_TYPE = "order"


@dataclass(frozen=True)
class Line:
    brand_code: str
    quantity: int


def body_digest(channel: str, lines: Iterable[tuple[str, int]]) -> str:
    """One fingerprint per order body, independent of line order, so an identical resend keeps its version."""
    text = channel + "\n" + "\n".join(f"{b}\t{int(q)}" for b, q in sorted(lines))
    return hashlib.sha256(text.encode()).hexdigest()


def order_key(cycle_id: int, retailer_id: str) -> str:
    """The audit object id of an order: cycle and retailer, as the routes name it."""
    return f"{cycle_id}/{retailer_id}"


def order_status(channel: str, version: int, approved_version: int | None) -> OrderState:
    """Collected orders wait for sign-off of their current version; a retailer's own order needs none."""
    if channel != Channel.COLLECTED:
        return OrderState.SUBMITTED
    return OrderState.APPROVED if approved_version == version else OrderState.PENDING_APPROVAL


# approved at its current version; the explicit NOT NULL keeps the negation true for never-approved orders
APPROVED_NOW = and_(Order.approved_version.is_not(None), Order.approved_version == Order.version)
# the orders whose lines are demand: a run's input and accuracy's actuals
COUNTED = or_(Order.channel == Channel.RETAILER_STATED, APPROVED_NOW)


def _status_clause(status: OrderState):
    """order_status as a SQL condition, so a list filtered by status pages in the database."""
    if status == OrderState.SUBMITTED:
        return Order.channel == Channel.RETAILER_STATED
    return and_(Order.channel == Channel.COLLECTED, APPROVED_NOW if status == OrderState.APPROVED else ~APPROVED_NOW)


def check_lines(lines: Sequence[Line], max_lines: int) -> dict[str, int]:
    """Refuse what a schema cannot see (too many lines, repeated specs); returns each spec's first line index."""
    if len(lines) > max_lines:
        raise Invalid(f"the order has {len(lines)} lines; at most {max_lines} are accepted, one per spec",
                      "too_many_lines")
    first: dict[str, int] = {}
    for i, line in enumerate(lines):
        if not 0 <= line.quantity <= LINE_MAX:
            raise Invalid(f"lines[{i}] ({line.brand_code}): quantity {line.quantity} is outside 0 to "
                          f"{LINE_MAX} cartons", "invalid_quantity")
        if line.brand_code in first:
            raise Invalid(f"lines[{i}]: spec {line.brand_code!r} already appears at lines[{first[line.brand_code]}]; "
                          "send one line per spec", "duplicate_spec")
        first[line.brand_code] = i
    return first


def _refuse_unknown(session: Session, company_id: int, first: dict[str, int]) -> None:
    known = set(session.execute(select(Brand.brand_code).where(
        Brand.company_id == company_id, Brand.brand_code.in_(list(first)))).scalars())
    unknown = [(i, b) for b, i in first.items() if b not in known]
    if unknown:
        named = ", ".join(f"lines[{i}] {b!r}" for i, b in unknown[:20]) + (" ..." if len(unknown) > 20 else "")
        raise Invalid(f"unknown spec: {named}; use a brand_code from /v1/brands", "unknown_spec",
                      specs=[b for _, b in unknown])


def cap_of(session: Session, cycle_id: int, retailer_id: str) -> int | None:
    """The retailer's cap for the cycle, shown beside its order so the account manager sees the limit."""
    return session.execute(select(Cap.cap).where(Cap.cycle_id == cycle_id, Cap.retailer_id == retailer_id)).scalar()


def cap_warnings(total: int, cap: int | None) -> list[dict]:
    """Demand above the cap is kept whole (rule 2) and only flagged: the allocation applies the cap."""
    if cap is None or total <= cap:
        return []
    return [{"code": "above_cap", "detail": f"total {total} is above this retailer's cap of {cap} for the cycle; "
                                           "the allocation applies the cap", "total": total, "cap": cap}]


def _lines_of(session: Session, cycle_id: int, retailer_id: str) -> list[dict]:
    rows = session.execute(select(OrderLine.brand_code, OrderLine.quantity).where(
        OrderLine.cycle_id == cycle_id, OrderLine.retailer_id == retailer_id).order_by(OrderLine.brand_code)).all()
    return [{"brand_code": b, "quantity": q} for b, q in rows]


def _shape(cycle_id: int, retailer_id: str, o: Any, lines: list[dict], cap: int | None) -> dict:
    """The order as the API shows it, from anything with the order's column names as attributes."""
    return {"cycle_id": str(cycle_id), "retailer_id": retailer_id, "version": o.version, "channel": o.channel,
            "lines": lines, "total": o.total, "status": order_status(o.channel, o.version, o.approved_version),
            "cap": cap, "warnings": cap_warnings(o.total, cap), "submitted_at": o.submitted_at,
            "submitted_by": str(o.submitted_by), "approved_version": o.approved_version,
            "approved_by": None if o.approved_by is None else str(o.approved_by), "approved_at": o.approved_at}


def view(session: Session, order: Order) -> dict:
    """The stored order with its lines, cap, warnings and sign-off state."""
    return _shape(order.cycle_id, order.retailer_id, order, _lines_of(session, order.cycle_id, order.retailer_id),
                  cap_of(session, order.cycle_id, order.retailer_id))


_STATE = (Order.version, Order.channel, Order.body_sha256, Order.total, Order.submitted_at, Order.submitted_by,
          Order.approved_version, Order.approved_by, Order.approved_at)


def _lock(session: Session, cycle_id: int, retailer_id: str) -> Order | None:
    return session.execute(select(Order).where(Order.cycle_id == cycle_id, Order.retailer_id == retailer_id)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


# built once: the PUT path runs these on every request, and building a statement costs more than running it
_LOCK_STATE = (select(*_STATE).where(Order.cycle_id == bindparam("c"), Order.retailer_id == bindparam("r"))
               .with_for_update())


def _lock_state(session: Session, cycle_id: int, retailer_id: str):
    """The order's current state under a row lock held to the end of the transaction (None if no order)."""
    return session.execute(_LOCK_STATE, {"c": cycle_id, "r": retailer_id}).first()


def _insert_first(session: Session, values: dict) -> bool:
    """Create the order unless another request just did; True if this request created it."""
    stmt = dialect_insert(session, Order).values(**values).on_conflict_do_nothing(index_elements=["cycle_id", "retailer_id"])
    return bool(session.execute(stmt.returning(Order.retailer_id)).first())


def _matches(if_match: str | None, version: int | None) -> bool:
    """RFC 9110 If-Match over our version ETags: "*" needs an order, otherwise one tag must equal the version."""
    if if_match is None:
        return True
    tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
    if "*" in tags:
        return version is not None
    return version is not None and str(version) in tags


_WHO = (Retailer.company_id == bindparam("co")) & (Retailer.retailer_id == bindparam("r"))
_FACTS = select(
    select(func.count()).where(Brand.company_id == bindparam("co"),
                               Brand.brand_code.in_(bindparam("codes", expanding=True)))
    .scalar_subquery().label("known"),
    select(Cap.cap).where(Cap.cycle_id == bindparam("c"), Cap.retailer_id == bindparam("r"))
    .scalar_subquery().label("cap"),
    select(Retailer.manager_id).where(_WHO).scalar_subquery().label("manager_id"),
    select(Retailer.status).where(_WHO).scalar_subquery().label("status"))


def _facts(session: Session, company_id: int, cycle_id: str, retailer_id: str, codes: list[str]):
    """Known-spec count, cap, owner and status in one round trip: the PUT path is latency-bound."""
    try:  # the 404 for a bad cycle comes later, after the 422 checks this feeds
        cid = row_id(cycle_id, "cycle")
    except NotFound:
        cid = -1
    return session.execute(_FACTS, {"co": company_id, "c": cid, "r": retailer_id, "codes": codes}).one()


# One round trip for the whole replacement on PostgreSQL (the PUT path is latency-bound): the header, the lines
# (kept ones updated, new ones inserted, dropped ones deleted: disjoint rows, so one statement may touch them all)
# and the version row. The caller holds the order's row lock.
_PG_REPLACE = text("""
WITH head AS (
  UPDATE retailer_order SET version = :v, channel = :ch, body_sha256 = :d, total = :t, submitted_by = :u,
         submitted_at = :now, approved_version = NULL, approved_by = NULL, approved_at = NULL
  WHERE cycle_id = :c AND retailer_id = :r),
dropped AS (
  DELETE FROM order_line
  WHERE cycle_id = :c AND retailer_id = :r AND NOT (brand_code = ANY (CAST(:codes AS VARCHAR[])))),
history AS (
  INSERT INTO order_version (cycle_id, retailer_id, version, channel, lines, submitted_by, submitted_at)
  VALUES (:c, :r, :v, :ch, CAST(:lines AS JSONB), :u, :now))
INSERT INTO order_line (cycle_id, retailer_id, brand_code, company_id, quantity)
SELECT :c, :r, x.b, :co, x.q FROM unnest(CAST(:codes AS VARCHAR[]), CAST(:qtys AS INTEGER[])) AS x(b, q)
ON CONFLICT (cycle_id, retailer_id, brand_code) DO UPDATE SET quantity = EXCLUDED.quantity
""")


def _replace_portable(session: Session, v: dict, stored: list[dict], created: bool) -> None:
    """The same replacement as _PG_REPLACE in plain statements, for SQLite (which serializes writers anyway)."""
    if not created:
        session.execute(update(Order.__table__).where(Order.cycle_id == v["c"], Order.retailer_id == v["r"]).values(
            version=v["v"], channel=v["ch"], body_sha256=v["d"], total=v["t"], submitted_by=v["u"],
            submitted_at=v["now"], approved_version=None, approved_by=None, approved_at=None))
        session.execute(delete(OrderLine.__table__).where(OrderLine.cycle_id == v["c"],
                                                          OrderLine.retailer_id == v["r"]))
    if stored:
        session.execute(insert(OrderLine.__table__), [{"cycle_id": v["c"], "retailer_id": v["r"],
                                                       "company_id": v["co"], **ln} for ln in stored])
    session.execute(insert(OrderVersion.__table__).values(cycle_id=v["c"], retailer_id=v["r"], version=v["v"],
                                                          channel=v["ch"], lines=stored, submitted_by=v["u"],
                                                          submitted_at=v["now"]))


def put_order(session: Session, principal: Principal, cycle_id: str, retailer_id: str, lines: Sequence[Line],
              channel: str, max_lines: int, if_match: str | None = None) -> tuple[dict, bool]:
    """Replace a retailer's whole order in one locked step; returns (order, created). Never a mix of two bodies."""
    first = check_lines(lines, max_lines)
    if channel not in tuple(Channel):
        raise Invalid(f"channel must be one of {', '.join(Channel)}", "invalid_channel")
    facts = _facts(session, principal.company_id, cycle_id, retailer_id, list(first))
    if facts.known != len(first):
        _refuse_unknown(session, principal.company_id, first)
    cycle = cycle_state(session, principal.company_id, cycle_id)
    if facts.manager_id is None or not may_see_manager(session, principal, facts.manager_id):
        raise NotFound(f"no retailer {retailer_id!r} among yours")
    if facts.status != RetailerStatus.ACTIVE:
        raise Conflict(f"retailer {retailer_id} is suspended and cannot order", "retailer_suspended")
    require_status(cycle, CycleState.OPEN, doing="submit an order")
    pairs = [(ln.brand_code, ln.quantity) for ln in lines]
    digest, total, now, user = body_digest(channel, pairs), sum(q for _, q in pairs), utcnow(), principal.user_id
    stored = [{"brand_code": b, "quantity": q} for b, q in sorted(pairs)]
    state = _lock_state(session, cycle.id, retailer_id)
    created = False
    if state is None and if_match is None:
        created = _insert_first(session, {
            "cycle_id": cycle.id, "retailer_id": retailer_id, "company_id": principal.company_id, "version": 1,
            "channel": channel, "body_sha256": digest, "total": total, "submitted_by": user, "submitted_at": now})
        state = None if created else _lock_state(session, cycle.id, retailer_id)
    if not created and not _matches(if_match, state.version if state else None):
        current = "none exists yet" if state is None else f"the current version is {state.version}"
        raise PreconditionFailed(f"If-Match {if_match} does not match this order: {current}; read it again, "
                                 "then resend", "version_mismatch", current_version=state.version if state else None)
    if not created and state.body_sha256 == digest:
        return _shape(cycle.id, retailer_id, state, stored, facts.cap), False
    version = 1 if created else state.version + 1
    old = None if created else {"version": state.version, "total": state.total, "channel": state.channel,
                                "approved_version": state.approved_version}
    values = {"c": cycle.id, "r": retailer_id, "co": principal.company_id, "v": version, "ch": channel, "d": digest,
              "t": total, "u": user, "now": now}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_REPLACE, {**values, "lines": json.dumps(stored, ensure_ascii=False),
                                      "codes": [x["brand_code"] for x in stored],
                                      "qtys": [x["quantity"] for x in stored]})
    else:
        _replace_portable(session, values, stored, created)
    audit.record(session, principal, "order.create" if created else "order.replace", OBJECT_TYPE,
                 order_key(cycle.id, retailer_id), old,
                 {"version": version, "total": total, "channel": channel, "lines": len(stored)})
    session.flush()
    answer = SimpleNamespace(version=version, channel=channel, total=total, submitted_at=now, submitted_by=user,
                             approved_version=None, approved_by=None, approved_at=None)
    return _shape(cycle.id, retailer_id, answer, stored, facts.cap), created


def _visible_order(session: Session, principal: Principal, cycle_id: str, retailer_id: str, lock: bool = False):
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=lock)
    visible_retailer(session, principal, retailer_id)
    order = _lock(session, cycle.id, retailer_id) if lock else session.get(Order, (cycle.id, retailer_id))
    if order is None or order.company_id != principal.company_id:
        raise NotFound("no order: no demand", "no_order", cycle_id=str(cycle.id), retailer_id=retailer_id)
    return cycle, order


def get_order(session: Session, principal: Principal, cycle_id: str, retailer_id: str) -> dict:
    """The current order, or 404 `no_order`: a retailer without an order has no demand (rule 4)."""
    return view(session, _visible_order(session, principal, cycle_id, retailer_id)[1])


def list_versions(session: Session, principal: Principal, cycle_id: str, retailer_id: str, cursor: str | None,
                  limit: int) -> tuple[list[dict], str | None]:
    """Who sent which body when, oldest first: the evidence that nobody rewrote a retailer's demand."""
    cycle, _ = _visible_order(session, principal, cycle_id, retailer_id)
    stmt = select(OrderVersion).where(OrderVersion.cycle_id == cycle.id, OrderVersion.retailer_id == retailer_id)
    versions, nxt = entity_page(session, stmt, [OrderVersion.version], cursor, limit)
    return [{"version": v.version, "channel": v.channel, "lines": v.lines,
             "total": sum(int(x["quantity"]) for x in v.lines), "submitted_by": str(v.submitted_by),
             "submitted_at": v.submitted_at} for v in versions], nxt


def list_orders(session: Session, principal: Principal, cycle_id: str, cursor: str | None, limit: int,
                status: str | None = None, channel: str | None = None, manager_id: str | None = None,
                retailer_id: str | None = None) -> tuple[list[dict], str | None]:
    """The cycle's orders the caller may see, by retailer id, with their sign-off status."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    n_lines = (select(func.count()).where(OrderLine.cycle_id == Order.cycle_id,
                                          OrderLine.retailer_id == Order.retailer_id).scalar_subquery())
    stmt = (select(Order, Retailer.manager_id, Cap.cap, n_lines.label("n_lines"))
            .join(Retailer, and_(Retailer.company_id == Order.company_id, Retailer.retailer_id == Order.retailer_id))
            .outerjoin(Cap, and_(Cap.cycle_id == Order.cycle_id, Cap.retailer_id == Order.retailer_id))
            .where(Order.company_id == principal.company_id, Order.cycle_id == cycle.id))
    stmt = scope_retailers(stmt, principal)
    if status:
        stmt = stmt.where(_status_clause(status))
    for col, value in ((Order.channel, channel), (Retailer.manager_id, manager_id), (Order.retailer_id, retailer_id)):
        if value:
            stmt = stmt.where(col == value)
    rows, nxt = page(session, stmt, [Order.retailer_id], cursor, limit, key_of=lambda r: [r[0].retailer_id])
    items = []
    for order, mgr, cap, n in rows:
        items.append({"cycle_id": str(order.cycle_id), "retailer_id": order.retailer_id, "manager_id": mgr,
                      "version": order.version, "channel": order.channel, "total": order.total, "line_count": n,
                      "status": order_status(order.channel, order.version, order.approved_version), "cap": cap,
                      "above_cap": cap is not None and order.total > cap, "submitted_at": order.submitted_at,
                      "submitted_by": str(order.submitted_by), "approved_version": order.approved_version})
    return items, nxt


def approve_order(session: Session, principal: Principal, cycle_id: str, retailer_id: str, version: int) -> dict:
    """A market manager signs off one version of a collected order (rule 4); a later replacement clears it."""
    cycle, order = _visible_order(session, principal, cycle_id, retailer_id, lock=True)
    require_status(cycle, CycleState.OPEN, doing="approve an order")
    if order.channel != Channel.COLLECTED:
        raise Conflict(f"the order of retailer {retailer_id} was stated by the retailer itself, not collected; "
                       "it needs no approval", "not_collected")
    if version != order.version:
        raise Conflict(f"version {version} is not the current version {order.version} of this order; read the "
                       "current one and approve that", "version_mismatch", current_version=order.version)
    if order.approved_version == order.version:
        return view(session, order)
    old = {"version": order.version, "approved_version": order.approved_version}
    order.approved_version, order.approved_by, order.approved_at = version, principal.user_id, utcnow()
    session.add(order)
    audit.record(session, principal, "order.approve", OBJECT_TYPE, order_key(cycle.id, retailer_id), old,
                 {"version": order.version, "approved_version": version, "total": order.total})
    session.flush()
    return view(session, order)


def approved_demand(session: Session, company_id: int, cycle_id: int) -> tuple[pd.DataFrame, list[dict]]:
    """The demand a run may use (retailer_stated, or collected and approved at its current version) and the
    collected orders left out, so the run can list them instead of silently dropping demand."""
    frame = read_frame(session, select(OrderLine.retailer_id, OrderLine.brand_code, OrderLine.quantity)
                       .join(Order, and_(Order.cycle_id == OrderLine.cycle_id,
                                         Order.retailer_id == OrderLine.retailer_id))
                       .where(Order.company_id == company_id, Order.cycle_id == cycle_id, COUNTED)
                       .order_by(OrderLine.retailer_id, OrderLine.brand_code),
                       {"retailer_id": "str", "brand_code": "str", "quantity": "int64"})
    left = session.execute(
        select(Order.retailer_id, Order.version, Retailer.manager_id)
        .join(Retailer, and_(Retailer.company_id == Order.company_id, Retailer.retailer_id == Order.retailer_id))
        .where(Order.company_id == company_id, Order.cycle_id == cycle_id, ~COUNTED)
        .order_by(Order.retailer_id)).all()
    return frame, [{"retailer_id": r, "version": v, "manager_id": m} for r, v, m in left]
