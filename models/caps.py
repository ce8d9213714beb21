"""Cap policy versions and per-cycle caps: the only per-retailer limit, an upper bound on the total (总量浮动管理)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlmodel import Session

from allocation.cap_policy import CapPolicy
from allocation.caps import CapInputError, compute_caps
from allocation.projection import period_week as _iso_week
from allocation.vocabulary import WRITABLE_CYCLE_STATES, CapSource
from models import audit, policies
from models.cycles import SHOWN, duplicates, get_cycle, require_status
from models.db import bulk_insert, upsert
from models.errors import Conflict, Invalid
from models.master import scope_retailers
from models.pagination import entity_page
from models.tables import Cap, Cycle, History, Retailer
from models.tables_demand import OrderLine
from models.tables_runs import Allocation, Publication
from models.tables import CapPolicyVersion
from models.types import utcnow
from models.users import Principal

BASIS_COLUMNS = ["method", "size_class", "base_monthly", "band", "monthly_cap", "allocated_so_far", "cycles_left",
                 "cycles_in_month", "even_share", "bound", "carry_over", "weeks_with_orders", "weeks_on_record",
                 "order_every_weeks"]


def current_policy(session: Session, company_id: int) -> CapPolicyVersion:
    """The cap policy in force; a fresh company gets version 1 = the defaults, so caps can be computed at once."""
    return policies.current(session, CapPolicyVersion, company_id, CapPolicy())


def put_policy(session: Session, principal: Principal, policy: CapPolicy) -> CapPolicyVersion:
    """Add a version (never edit one) so every computed cap can name the exact rules it came from."""
    return policies.put(session, principal, CapPolicyVersion, policy, "cap_policy")


def cap_inputs(session: Session, company_id: int, cycle: Cycle) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Retailers, weekly history and this month's published allocations, read with a few aggregate queries.

    History is the loaded history plus the orders of every earlier cycle (period = its start date); a week that
    an earlier cycle with orders covers takes that cycle's orders, not loaded history, so no week counts twice.
    """
    conn = session.connection()
    retailers = _frame(conn, select(Retailer.retailer_id, Retailer.tier, Retailer.market_type, Retailer.size_class,
                                    Retailer.status, Retailer.order_every_weeks)
                       .where(Retailer.company_id == company_id))
    loaded = _frame(conn, select(History.retailer_id, History.period, func.sum(History.quantity).label("quantity"))
                    .where(History.company_id == company_id).group_by(History.retailer_id, History.period))
    ordered = _frame(conn, select(OrderLine.retailer_id, Cycle.start_date.label("period"),
                                  func.sum(OrderLine.quantity).label("quantity"))
                     .join(Cycle, Cycle.id == OrderLine.cycle_id)
                     .where(Cycle.company_id == company_id, Cycle.start_date < cycle.start_date, Cycle.id != cycle.id)
                     .group_by(OrderLine.retailer_id, Cycle.start_date))
    periods = pd.Series(loaded["period"].unique(), dtype=object)
    weeks = periods.map(_iso_week)
    if weeks.isna().any():
        bad = sorted(periods[weeks.isna()].astype(str))
        raise Conflict(f"history period(s) {', '.join(map(repr, bad[:SHOWN]))} are neither an ISO week like "
                       "2026-W35 nor a date; correct the history file and load it again", "history_period_invalid",
                       periods=bad)
    if len(ordered):
        covered = {_iso_week(d) for d in ordered["period"]}
        loaded = loaded[~loaded["period"].isin(set(periods[weeks.isin(covered)]))]
        ordered = ordered.assign(period=ordered["period"].map(date.isoformat))
    history = pd.concat([loaded, ordered], ignore_index=True) if len(ordered) else loaded
    month_start = cycle.start_date.replace(day=1)
    allocated = _frame(conn, select(Allocation.retailer_id, func.sum(Allocation.allocated).label("allocated"))
                       .join(Publication, Publication.run_id == Allocation.run_id)
                       .join(Cycle, Cycle.id == Publication.cycle_id)
                       .where(Cycle.company_id == company_id, Cycle.id != cycle.id,
                              Cycle.start_date >= month_start, Cycle.start_date < cycle.start_date)
                       .group_by(Allocation.retailer_id))
    return retailers, history, allocated


def _frame(conn, stmt) -> pd.DataFrame:
    """A query's rows as a frame, built column-wise: a frame built from row objects costs ten times more."""
    result = conn.execute(stmt)
    keys, rows = list(result.keys()), result.all()
    columns = list(zip(*rows)) if rows else [()] * len(keys)
    return pd.DataFrame({k: list(col) for k, col in zip(keys, columns)}, columns=keys)


def _cycle_total(session: Session, cycle_id: int) -> int:
    """The sum of a cycle's caps as stored now (other writers may hold caps this request did not touch)."""
    return int(session.execute(select(func.coalesce(func.sum(Cap.cap), 0)).where(Cap.cycle_id == cycle_id)).scalar())


def compute_cycle_caps(session: Session, principal: Principal, cycle_id: int | str,
                       overwrite: bool = False) -> dict:
    """Cap every active retailer from the policy in force; set or adjusted caps stay unless overwrite."""
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    require_status(cycle, *WRITABLE_CYCLE_STATES, doing="compute caps")
    row = current_policy(session, principal.company_id)
    policy = CapPolicy.model_validate(row.params)
    retailers, history, allocated = cap_inputs(session, principal.company_id, cycle)
    try:
        caps = compute_caps(retailers, history, policy, cycle.start_date, cycle.end_date, allocated)
    except CapInputError as exc:
        raise Conflict(f"caps cannot be computed from the stored data: {exc}; correct it and load it again",
                       "cap_input_invalid") from exc
    old = {r.retailer_id: (r.cap, r.source) for r in session.execute(
        select(Cap.retailer_id, Cap.cap, Cap.source).where(Cap.cycle_id == cycle.id))}
    kept = set() if overwrite else {rid for rid, (_, source) in old.items() if source != CapSource.COMPUTED}
    caps = caps[~caps["retailer_id"].isin(kept)].reset_index(drop=True)
    stale = delete(Cap).where(Cap.cycle_id == cycle.id)
    replaced = session.execute(stale if overwrite else stale.where(Cap.source == CapSource.COMPUTED))
    _write_computed(session, principal.company_id, cycle.id, row.version, caps)
    new = dict(zip(caps["retailer_id"], caps["cap"].tolist()))
    removed = [rid for rid in old if rid not in kept and rid not in new]
    changed = sorted(rid for rid in old.keys() | new.keys()
                     if rid not in kept and (old[rid][0] if rid in old else None) != new.get(rid))
    total = _cycle_total(session, cycle.id)
    summary = {
        "cycle_id": str(cycle.id), "policy_version": row.version, "overwrite": overwrite, "computed": len(caps),
        "kept": len(kept), "removed": len(removed), "computed_total": int(caps["cap"].sum()), "total": total,
        "by_method": {k: int(v) for k, v in caps["method"].value_counts().sort_index().items()},
        "by_size_class": {k: {"count": len(g), "total": int(g["cap"].sum())}
                          for k, g in caps.groupby("size_class", sort=True)},
    }
    audit.record(session, principal, "caps.compute", "cycle", cycle.id,
                 {"count": replaced.rowcount, "caps": {rid: old[rid][0] for rid in changed if rid in old}},
                 {**{k: summary[k] for k in ("policy_version", "overwrite", "computed", "kept", "computed_total")},
                  "caps": {rid: new[rid] for rid in changed if rid in new}})
    return summary


def _write_computed(session: Session, company_id: int, cycle_id: int, version: int, caps: pd.DataFrame) -> None:
    """Append the computed caps in one bulk write (COPY on PostgreSQL), each with the basis that explains it."""
    basis = caps[BASIS_COLUMNS].assign(even_share=caps["even_share"].round(2), policy_version=version)
    postgres = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    weights = [f"{w:.2f}" if postgres else Decimal(f"{w:.2f}") for w in caps["weight"].tolist()]
    # COPY takes JSON text, written by pandas in one pass; SQLite's JSON column takes dicts
    bases = (basis.to_json(orient="records", lines=True, force_ascii=False).splitlines() if postgres
             else [_plain(b) for b in basis.to_dict("records")])
    rows = zip([cycle_id] * len(caps), caps["retailer_id"].tolist(), [company_id] * len(caps),
               caps["cap"].tolist(), weights, [CapSource.COMPUTED.value] * len(caps), [version] * len(caps), bases,
               [now] * len(caps))
    bulk_insert(session, Cap.__table__, ["cycle_id", "retailer_id", "company_id", "cap", "weight", "source",
                                         "policy_version", "basis", "updated_at"], rows)


def _plain(record: dict) -> dict:
    """numpy scalars as plain Python numbers, so the basis is ordinary JSON."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in record.items()}


def check_retailer_lines(session: Session, company_id: int, ids: list[str]) -> None:
    """422 for a retailer given twice (which would make 'set' ambiguous) or one the company does not have."""
    twice = duplicates(ids)
    if twice:
        raise Invalid(f"retailer_id {', '.join(twice[:SHOWN])} appears more than once; give each retailer once",
                      "duplicate_line", retailer_ids=twice)
    known = set(session.execute(select(Retailer.retailer_id).where(Retailer.company_id == company_id)).scalars())
    unknown = sorted(set(ids) - known)
    if unknown:
        raise Invalid(f"unknown retailer(s) {', '.join(unknown[:SHOWN])}: load them first", "unknown_retailer",
                      retailer_ids=unknown)


def set_caps(session: Session, principal: Principal, cycle_id: int | str,
             items: list[tuple[str, int, Decimal | None]]) -> dict:
    """Set the listed retailers' caps by hand (source 'set'), leaving every other cap as it is."""
    check_retailer_lines(session, principal.company_id, [rid for rid, _, _ in items])
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    require_status(cycle, *WRITABLE_CYCLE_STATES, doing="set caps")
    old = {r.retailer_id: ((r.cap, Decimal(r.weight)), r.source) for r in session.execute(
        select(Cap.retailer_id, Cap.cap, Cap.weight, Cap.source).where(Cap.cycle_id == cycle.id))}
    now = utcnow()
    rows, changed = [], {}
    for rid, cap, weight in items:
        before, source = old.get(rid, (None, None))
        new = (cap, weight if weight is not None else before[1] if before else Decimal(1))
        if before != new:
            changed[rid] = (before, new)
        elif source == CapSource.SET:
            continue  # PUT replaces: the same cap again changes nothing, not even its time
        rows.append({"cycle_id": cycle.id, "retailer_id": rid, "company_id": principal.company_id, "cap": cap,
                     "weight": new[1], "source": CapSource.SET, "policy_version": None, "updated_at": now,
                     "basis": {"method": CapSource.SET, "set_by": str(principal.user_id), "set_at": now.isoformat()}})
    upsert(session, Cap.__table__, rows, ["cycle_id", "retailer_id"])
    session.flush()
    if rows:
        audit.record(session, principal, "caps.set", "cycle", cycle.id,
                     {"caps": {r["retailer_id"]: _cap_json(*old[r["retailer_id"]]) if r["retailer_id"] in old else None
                               for r in rows}},
                     {"caps": {r["retailer_id"]: _cap_json((r["cap"], r["weight"]), CapSource.SET) for r in rows}})
    total = _cycle_total(session, cycle.id)
    return {"cycle_id": str(cycle.id), "set": len(items), "changed": len(changed), "total": total}


def _cap_json(value: tuple[int, Decimal], source: str) -> dict:
    return {"cap": value[0], "weight": str(value[1]), "source": source}


def list_caps(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None, limit: int,
              manager_id: str | None = None, source: str | None = None):
    """Caps with their basis by retailer id; a manager sees only his own (or his team's) retailers."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    stmt = (select(Cap).join(Retailer, (Retailer.company_id == Cap.company_id)
                             & (Retailer.retailer_id == Cap.retailer_id))
            .where(Cap.cycle_id == cycle.id))
    stmt = scope_retailers(stmt, principal)
    if manager_id:
        stmt = stmt.where(Retailer.manager_id == manager_id)
    if source:
        stmt = stmt.where(Cap.source == source)
    return entity_page(session, stmt, [Cap.retailer_id], cursor, limit)


def cap_out(cap: Cap) -> dict:
    return {"retailer_id": cap.retailer_id, "cap": cap.cap, "weight": float(cap.weight), "source": cap.source,
            "policy_version": cap.policy_version, "basis": cap.basis, "updated_at": cap.updated_at}
