"""Cap moves between one account manager's retailers (rule 5: keep the total), signed off by his market manager."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from allocation.vocabulary import CAP_MAX, WRITABLE_CYCLE_STATES, AdjustmentState, CapSource, RetailerStatus
from models import audit
from models.cycles import SHOWN, get_cycle, require_status
from models.errors import Conflict, NotFound, row_id
from models.master import may_see_manager, scope_retailers
from models.pagination import entity_page
from models.tables import Cap, CapAdjustment, Retailer
from models.types import utcnow
from models.users import Principal


def adjustment_out(adj: CapAdjustment) -> dict:
    """An adjustment as callers see it (ids as strings)."""
    return {"id": str(adj.id), "cycle_id": str(adj.cycle_id), "manager_id": adj.manager_id, "status": adj.status,
            "moves": adj.moves, "reason": adj.reason, "created_by": str(adj.created_by), "created_at": adj.created_at,
            "decided_by": None if adj.decided_by is None else str(adj.decided_by), "decided_at": adj.decided_at}


def net_effect(moves: list[dict]) -> dict[str, int]:
    """What each retailer's cap gains (or loses) once the moves apply; the values sum to zero by construction."""
    delta: Counter[str] = Counter()
    for m in moves:
        delta[m["from_retailer_id"]] -= m["quantity"]
        delta[m["to_retailer_id"]] += m["quantity"]
    return dict(delta)


def _own_retailers(session: Session, company_id: int, manager_id: str, ids: set[str]) -> dict[str, Retailer]:
    rows = session.execute(select(Retailer).where(Retailer.company_id == company_id, Retailer.manager_id == manager_id,
                                                  Retailer.retailer_id.in_(sorted(ids)))).scalars()
    return {r.retailer_id: r for r in rows}


def _caps(session: Session, cycle_id: int, ids: set[str], lock: bool = False) -> dict[str, Cap]:
    stmt = select(Cap).where(Cap.cycle_id == cycle_id, Cap.retailer_id.in_(sorted(ids)))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return {c.retailer_id: c for c in session.execute(stmt).scalars()}


def create_adjustment(session: Session, principal: Principal, cycle_id: int | str, moves: list[dict],
                      reason: str) -> CapAdjustment:
    """Propose moves of cap between the caller's own retailers; nothing changes until his market manager approves."""
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    ids = {m["from_retailer_id"] for m in moves} | {m["to_retailer_id"] for m in moves}
    own = _own_retailers(session, principal.company_id, principal.manager_id, ids)
    foreign = sorted(ids - own.keys())
    if foreign:
        raise NotFound(f"no retailer {foreign[0]!r} among yours; cap moves stay between your own retailers")
    require_status(cycle, *WRITABLE_CYCLE_STATES, doing="adjust caps")
    suspended = sorted(m["to_retailer_id"] for m in moves if own[m["to_retailer_id"]].status != RetailerStatus.ACTIVE)
    if suspended:
        raise Conflict(f"retailer {suspended[0]} is suspended and cannot order; move the cap to an active retailer",
                       "retailer_suspended", retailer_ids=suspended)
    caps = {rid: c.cap for rid, c in _caps(session, cycle.id, ids).items()}
    gives: Counter[str] = Counter()
    for m in moves:
        gives[m["from_retailer_id"]] += m["quantity"]
    short = sorted(rid for rid, q in gives.items() if q > caps.get(rid, 0))
    if short:
        said = "; ".join(f"{rid} gives {gives[rid]} but its cap is {caps.get(rid, 'not set')}" for rid in short[:SHOWN])
        raise Conflict(f"a retailer cannot give more cap than it has: {said}", "adjustment_exceeds_cap",
                       retailer_ids=short)
    adj = CapAdjustment(company_id=principal.company_id, cycle_id=cycle.id, manager_id=principal.manager_id,
                        reason=reason, status=AdjustmentState.PENDING, moves=moves, created_by=principal.user_id)
    session.add(adj)
    session.flush()
    audit.record(session, principal, "cap_adjustment.create", "cap_adjustment", adj.id, None,
                 {"status": AdjustmentState.PENDING, "cycle_id": str(cycle.id), "moves": moves,
                  "effect": net_effect(moves)}, reason)
    return adj


def visible_adjustment(session: Session, principal: Principal, adjustment_id: int | str,
                       for_update: bool = False) -> CapAdjustment:
    """The adjustment if the caller may see it (his own, his team's, or any for admin/auditor); else 404."""
    adj = session.get(CapAdjustment, row_id(adjustment_id, "cap adjustment"), with_for_update=for_update or None,
                      populate_existing=for_update)
    if adj is None or adj.company_id != principal.company_id or not may_see_manager(session, principal, adj.manager_id):
        raise NotFound(f"no cap adjustment {adjustment_id!r} among yours")
    return adj


def _decidable(session: Session, principal: Principal, adjustment_id: int | str, doing: str) -> CapAdjustment:
    adj = visible_adjustment(session, principal, adjustment_id, for_update=True)
    if adj.status != AdjustmentState.PENDING:
        raise Conflict(f"cannot {doing} cap adjustment {adj.id}: it is {adj.status} already", "adjustment_decided",
                       status=adj.status)
    cycle = get_cycle(session, principal.company_id, adj.cycle_id, for_share=True)
    require_status(cycle, *WRITABLE_CYCLE_STATES, doing=f"{doing} a cap adjustment")
    return adj


def approve_adjustment(session: Session, principal: Principal, adjustment_id: int | str) -> CapAdjustment:
    """Apply all moves at once (caps re-checked under lock), so the manager's total is the same after as before."""
    adj = _decidable(session, principal, adjustment_id, "approve")
    delta = net_effect(adj.moves)
    ids = set(delta)
    own = _own_retailers(session, principal.company_id, adj.manager_id, ids)
    if own.keys() != ids:
        moved = sorted(ids - own.keys())
        raise Conflict(f"retailer(s) {', '.join(moved[:SHOWN])} no longer belong to manager {adj.manager_id}; "
                       "reject this adjustment", "retailer_reassigned", retailer_ids=moved)
    caps = _caps(session, adj.cycle_id, ids, lock=True)
    before = {rid: caps[rid].cap if rid in caps else 0 for rid in ids}
    after = {rid: before[rid] + d for rid, d in delta.items()}
    bad = sorted(rid for rid, v in after.items() if v < 0 or v > CAP_MAX or (rid not in caps and delta[rid] < 0))
    if bad:
        said = "; ".join(f"{rid} would go from {before[rid]} to {after[rid]}" for rid in bad[:SHOWN])
        raise Conflict(f"caps changed since this adjustment was proposed: {said}; reject it and propose again",
                       "cap_would_go_negative", retailer_ids=bad)
    now = utcnow()
    for rid, d in sorted(delta.items()):
        cap = caps.get(rid) or Cap(cycle_id=adj.cycle_id, retailer_id=rid, company_id=adj.company_id, cap=0,
                                   weight=Decimal(1), source=CapSource.ADJUSTED, basis={"method": CapSource.ADJUSTED})
        record = {"adjustment_id": str(adj.id), "delta": d, "from": cap.cap, "to": after[rid],
                  "approved_by": str(principal.user_id), "approved_at": now.isoformat()}
        cap.basis = {**(cap.basis or {}), "adjustments": [*(cap.basis or {}).get("adjustments", []), record]}
        cap.cap, cap.source, cap.updated_at = after[rid], CapSource.ADJUSTED, now
        session.add(cap)
    adj.status, adj.decided_by, adj.decided_at = AdjustmentState.APPROVED, principal.user_id, now
    session.add(adj)
    session.flush()
    audit.record(session, principal, "cap_adjustment.approve", "cap_adjustment", adj.id,
                 {"status": AdjustmentState.PENDING, "caps": before},
                 {"status": AdjustmentState.APPROVED, "caps": after}, adj.reason)
    return adj


def reject_adjustment(session: Session, principal: Principal, adjustment_id: int | str,
                      reason: str | None = None) -> CapAdjustment:
    """Turn a proposal down; caps stay as they are and the account manager may propose again."""
    adj = _decidable(session, principal, adjustment_id, "reject")
    adj.status, adj.decided_by, adj.decided_at = AdjustmentState.REJECTED, principal.user_id, utcnow()
    session.add(adj)
    session.flush()
    audit.record(session, principal, "cap_adjustment.reject", "cap_adjustment", adj.id, {"status": AdjustmentState.PENDING},
                 {"status": AdjustmentState.REJECTED}, reason or adj.reason)
    return adj


def list_adjustments(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None, limit: int,
                     status: str | None = None):
    """A cycle's adjustments oldest first; managers see their own (or their team's)."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    stmt = select(CapAdjustment).where(CapAdjustment.cycle_id == cycle.id)
    stmt = scope_retailers(stmt, principal, CapAdjustment.manager_id)
    if status:
        stmt = stmt.where(CapAdjustment.status == status)
    return entity_page(session, stmt, [CapAdjustment.id], cursor, limit)
