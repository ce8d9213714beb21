"""Builds the forecast and actual frames from the database and scores them, so the API, the exports and
the command line all rank managers by the one set of formulas in allocation.accuracy.

Actual demand of manager m in cycle p for spec b: the order lines his retailers (by their current
manager_id) submitted in p, counting `retailer_stated` orders and `collected` orders approved at their
current version; never the allocation (supply limits it) and never an unapproved collected order. A
retailer with no order counts 0. Only cycles that are closed or published are scored: before the close
their demand is not final. A published cycle's orders never change again, so its per-manager sums are kept
in demand_snapshot(_line) and rebuilt only when a retailer moves to another manager.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, event, func, insert, literal, orm, select, union_all
from sqlmodel import Session

from allocation.accuracy import (
    BY_MANAGER_COLUMNS,
    BY_SPEC_COLUMNS,
    pooled,
    score_cells,
    score_managers,
    single_brand_accuracy,
)
from allocation.vocabulary import CycleState, Role
from models.cycles import ReportQuery, final_cycles
from models.db import frame_record, record_frame, upsert
from models.errors import Invalid
from models.kept import digest
from models.master import team_subquery
from models.orders import COUNTED
from models.tables import Brand, Cycle, Retailer
from models.tables_demand import AccuracyKept, DemandSnapshot, DemandSnapshotLine, Forecast, Order, OrderLine
from models.tables_runs import Allocation, Publication
from models.types import utcnow
from models.users import Principal

FRAME_COLUMNS = ["manager_id", "period", "brand_code", "quantity"]
LEVELS = ("manager", "spec")
# Part of every snapshot's digest: change it when the counting rule changes, and every snapshot is rebuilt.
SNAPSHOT_RULE = ("stated + collected approved at current version; manager = retailer's current manager; "
                 "allocated = the published run's cartons\n")
DIGESTS = "assignment_digests"  # session.info key of the digests read in the current transaction
PAGE_KEYS = {"manager": ["period", "rank", "manager_id"], "spec": ["period", "manager_id", "brand_code"]}


def key_codes(session: Session, company_id: int) -> list[str]:
    """The specs flagged as key brands in the master data (never a hard-coded list)."""
    stmt = select(Brand.brand_code).where(Brand.company_id == company_id, Brand.is_key.is_(True))
    return list(session.execute(stmt).scalars())


def _frame(rows: Sequence) -> pd.DataFrame:
    """Rows (manager_id, cycle_id, brand_code, quantity) as a scoring frame whose period is the cycle id."""
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "quantity" else "object") for c in FRAME_COLUMNS})
    manager, cycle, brand, quantity = zip(*rows)
    return pd.DataFrame({"manager_id": np.asarray(manager, dtype=object),
                         "period": np.asarray(cycle, dtype=np.int64).astype(str).astype(object),
                         "brand_code": np.asarray(brand, dtype=object),
                         "quantity": np.asarray(quantity, dtype=np.int64)})


def _fetch(session: Session, stmt) -> list[tuple]:
    """A query's rows as the driver's plain tuples: at a quarter's 400,000 rows (or a city's 30,000 retailers read
    per request), building one result object per row would cost more than the query."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = ([compiled.params[k] for k in compiled.positiontup] if compiled.positional else compiled.params)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(compiled.string, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _read(session: Session, stmt) -> pd.DataFrame:
    """Runs a (manager_id, cycle_id, brand_code, quantity) query into a frame straight from the driver's cursor."""
    rows = _fetch(session, stmt)
    if not rows:
        return _frame([])
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    codes, cycles = pd.factorize(frame["period"])
    frame["period"] = np.asarray([str(c) for c in cycles], dtype=object)[codes]
    return frame


def forecast_frame(session: Session, company_id: int, cycle_ids: Sequence[int],
                   brand_codes: Sequence[str] | None = None, manager_id: str | None = None) -> pd.DataFrame:
    """Each manager's (or one manager's) current forecast per cycle and spec (all made while the cycle was
    planned)."""
    if not cycle_ids:
        return _frame([])
    stmt = select(Forecast.manager_id, Forecast.cycle_id, Forecast.brand_code, Forecast.quantity).where(
        Forecast.company_id == company_id, Forecast.cycle_id.in_(list(cycle_ids)))
    if brand_codes is not None:
        stmt = stmt.where(Forecast.brand_code.in_(list(brand_codes)))
    if manager_id is not None:
        stmt = stmt.where(Forecast.manager_id == manager_id)
    return _read(session, stmt)


def _demand(company_id: int, cycle_ids: Sequence[int]):
    """The counted order lines summed per manager (the retailer's current one), cycle and spec."""
    return (select(Retailer.manager_id, OrderLine.cycle_id, OrderLine.brand_code,
                   func.sum(OrderLine.quantity).label("quantity"))
            .join(Order, and_(Order.cycle_id == OrderLine.cycle_id, Order.retailer_id == OrderLine.retailer_id))
            .join(Retailer, and_(Retailer.company_id == Order.company_id,
                                 Retailer.retailer_id == Order.retailer_id))
            .where(Order.company_id == company_id, OrderLine.cycle_id.in_(list(cycle_ids)), COUNTED)
            .group_by(Retailer.manager_id, OrderLine.cycle_id, OrderLine.brand_code))


def _allocated(company_id: int, cycle_ids: Sequence[int]):
    """The published runs' cartons summed per manager (the retailer's current one), cycle and spec."""
    return (select(Retailer.manager_id, Publication.cycle_id, Allocation.brand_code, literal(0).label("quantity"),
                   func.sum(Allocation.allocated).label("allocated"))
            .join(Allocation, Allocation.run_id == Publication.run_id)
            .join(Retailer, and_(Retailer.company_id == Publication.company_id,
                                 Retailer.retailer_id == Allocation.retailer_id))
            .where(Publication.company_id == company_id, Publication.cycle_id.in_(list(cycle_ids)),
                   Allocation.allocated > 0)
            .group_by(Retailer.manager_id, Publication.cycle_id, Allocation.brand_code))


def assignment_digest(session: Session, company_id: int) -> str:
    """SHA-256 of which retailer belongs to which manager, and whether it is active: a snapshot or a kept
    projection built on another assignment is stale. Read once per transaction (a console page asks several
    times); a flush or the transaction's end forgets it."""
    memo = session.info.setdefault(DIGESTS, {})
    if company_id not in memo:
        memo[company_id] = _assignment_digest(session, company_id)
    return memo[company_id]


@event.listens_for(orm.Session, "after_flush")
@event.listens_for(orm.Session, "after_transaction_end")
def _forget_digests(session: orm.Session, *_) -> None:
    session.info.pop(DIGESTS, None)


def _assignment_digest(session: Session, company_id: int) -> str:
    rows = _fetch(session, select(Retailer.retailer_id, Retailer.manager_id, Retailer.status)
                  .where(Retailer.company_id == company_id))
    # sorted here: plain tuples sort in a few milliseconds, a database's collation-aware sort takes far longer
    text = SNAPSHOT_RULE + "".join(f"{r}\t{m}\t{s}\n" for r, m, s in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_snapshots(session: Session, company_id: int, cycle_ids: Sequence[int]) -> list[int]:
    """(Re)builds the demand snapshots of these published cycles that are missing or stale; returns their ids.

    Only published cycles may be snapshotted: their orders can never change again (no reopen after publishing),
    so the retailer-to-manager assignment is the only thing that can make a snapshot stale. The basis rows are
    written first, which on PostgreSQL makes a concurrent rebuild of the same cycle wait instead of collide.
    """
    if not cycle_ids:
        return []
    digest = assignment_digest(session, company_id)
    fresh = set(session.execute(select(DemandSnapshot.cycle_id).where(
        DemandSnapshot.cycle_id.in_(list(cycle_ids)), DemandSnapshot.assignment_sha256 == digest)).scalars())
    stale = sorted(set(cycle_ids) - fresh)
    if not stale:
        return []
    upsert(session, DemandSnapshot.__table__, [{"cycle_id": i, "company_id": company_id, "assignment_sha256": digest,
                                                "built_at": utcnow()} for i in stale], keys=["cycle_id"])
    session.execute(delete(DemandSnapshotLine).where(DemandSnapshotLine.cycle_id.in_(stale)))
    both = union_all(_demand(company_id, stale).add_columns(literal(0).label("allocated")),
                     _allocated(company_id, stale)).subquery()
    session.execute(insert(DemandSnapshotLine).from_select(
        ["manager_id", "cycle_id", "brand_code", "quantity", "allocated"],
        select(both.c.manager_id, both.c.cycle_id, both.c.brand_code, func.sum(both.c.quantity),
               func.sum(both.c.allocated)).group_by(both.c.manager_id, both.c.cycle_id, both.c.brand_code)))
    return stale


def actual_frame(session: Session, company_id: int, cycle_ids: Sequence[int],
                 brand_codes: Sequence[str] | None = None, snapshots: bool = True,
                 manager_id: str | None = None) -> pd.DataFrame:
    """The demand each manager's (or one manager's) retailers submitted per cycle and spec: from the snapshot for
    published cycles (refreshed when stale), summed from the order lines for the others (for all with
    snapshots=False)."""
    if not cycle_ids:
        return _frame([])
    published = [] if not snapshots else list(session.execute(select(Cycle.id).where(
        Cycle.company_id == company_id, Cycle.id.in_(list(cycle_ids)), Cycle.status == CycleState.PUBLISHED)).scalars())
    done = set(published)
    live = [i for i in cycle_ids if i not in done]
    refresh_snapshots(session, company_id, published)
    parts = []
    if published:
        stmt = select(DemandSnapshotLine.manager_id, DemandSnapshotLine.cycle_id, DemandSnapshotLine.brand_code,
                      DemandSnapshotLine.quantity).where(DemandSnapshotLine.cycle_id.in_(published))
        if brand_codes is not None:
            stmt = stmt.where(DemandSnapshotLine.brand_code.in_(list(brand_codes)))
        if manager_id is not None:
            stmt = stmt.where(DemandSnapshotLine.manager_id == manager_id)
        parts.append(_read(session, stmt))
    if live:
        stmt = _demand(company_id, live)
        if brand_codes is not None:
            stmt = stmt.where(OrderLine.brand_code.in_(list(brand_codes)))
        if manager_id is not None:
            stmt = stmt.where(Retailer.manager_id == manager_id)
        parts.append(_read(session, stmt))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class AccuracyQuery(ReportQuery):
    """The filters of one accuracy request: a cycle, or a date range of cycles, and what to show."""

    brand_code: str | None = None
    key_only: bool = False
    level: str = "manager"


@dataclass
class AccuracyResult:
    rows: pd.DataFrame
    level: str
    cycle_ids: list[str]
    cycles_not_closed: list[str] = field(default_factory=list)


def _cycles(session: Session, company_id: int, q: AccuracyQuery) -> tuple[list[Cycle], list[Cycle], str | None]:
    """The cycles to score, the ones in the range left out as not final, and the range label."""
    return final_cycles(session, company_id, q, "accuracy is scored once the cycle is closed and its demand final")


def _spec_filter(session: Session, company_id: int, q: AccuracyQuery, keys: list[str]) -> list[str] | None:
    """Spec restrictions apply before scoring: key_only and brand_code change what is scored and ranked."""
    codes: list[str] | None = None
    if q.brand_code is not None:
        if session.get(Brand, (company_id, q.brand_code)) is None:
            raise Invalid(f"unknown spec {q.brand_code!r}; use a brand code from /v1/brands", "unknown_brand")
        codes = [q.brand_code]
    if q.key_only:
        key_set = set(keys)
        codes = [c for c in (codes if codes is not None else keys) if c in key_set]
    return codes


def _pooled_specs(by_spec: pd.DataFrame, label: str) -> pd.DataFrame:
    """One row per manager and spec over the range: Σ|A − F| over its cycles, never netted, over ΣA."""
    if by_spec.empty:
        return by_spec.assign(period=pd.Series(dtype="object"))
    cells = by_spec.assign(abs_error=(by_spec["actual"] - by_spec["forecast"]).abs())
    sums = cells.groupby(["manager_id", "brand_code"], sort=True)[["forecast", "actual", "abs_error"]].sum()
    sums["accuracy"] = single_brand_accuracy(sums)
    return sums.reset_index().assign(period=label)[BY_SPEC_COLUMNS]


def _in_scope(session: Session, principal: Principal, rows: pd.DataFrame, manager_id: str | None) -> pd.DataFrame:
    """Drops the managers the caller may not see; done after ranking so everyone sees his true rank."""
    keep = np.ones(len(rows), dtype=bool)
    if principal.role == Role.ACCOUNT_MANAGER:
        keep &= (rows["manager_id"] == principal.manager_id).to_numpy()
    elif principal.role == Role.MARKET_MANAGER:
        team = list(session.execute(team_subquery(principal)).scalars())
        keep &= rows["manager_id"].isin(team).to_numpy()
    if manager_id is not None:
        keep &= (rows["manager_id"] == manager_id).to_numpy()
    return rows[keep]


def score(session: Session, principal: Principal, q: AccuracyQuery) -> AccuracyResult:
    """Scores every manager of the company for the requested cycle or range, ranks them, then keeps the rows
    the caller may see."""
    if q.level not in LEVELS:
        raise Invalid(f"level {q.level!r}: use manager or spec", "invalid_request")
    keys = key_codes(session, principal.company_id)
    specs = _spec_filter(session, principal.company_id, q, keys)
    cycles, not_closed, label = _cycles(session, principal.company_id, q)
    ids = [c.id for c in cycles]
    rows = _scored(session, principal, q, ids, label, keys, specs)
    return AccuracyResult(rows, q.level, [str(i) for i in ids], [str(c.id) for c in not_closed])


def trend(session: Session, principal: Principal, manager_id: str, cycles: Sequence[Cycle]) -> pd.DataFrame:
    """One manager's row in each of these final cycles, ranked within each cycle among every manager: what score
    answers cycle by cycle, read and scored once for all of them."""
    keys = key_codes(session, principal.company_id)
    return _scored(session, principal, AccuracyQuery(manager_id=manager_id), [c.id for c in cycles], None, keys, None)


def _scored(session: Session, principal: Principal, q: AccuracyQuery, ids: list[int], label: str | None,
            keys: list[str], specs: list[str] | None) -> pd.DataFrame:
    """The rows of score: per cycle (label None) or pooled under the label, at q's level, in the caller's scope."""
    company_id = principal.company_id
    if q.level == "manager" and label is None and specs is None:
        rows = _in_scope(session, principal, _kept_ranks(session, company_id, ids, keys), q.manager_id)
        return rows.sort_values(PAGE_KEYS[q.level], kind="stable").reset_index(drop=True)
    # spec rows are never ranked, so one manager's need only his cells
    one = q.manager_id if q.level == "spec" else None
    by_spec = score_cells(forecast_frame(session, company_id, ids, specs, one),
                          actual_frame(session, company_id, ids, specs, manager_id=one))
    if q.level == "spec":
        rows = _pooled_specs(by_spec, label) if label is not None else by_spec
    elif by_spec.empty:
        rows = _empty_managers()
    elif label is not None:
        rows = pooled(by_spec, keys, {str(i): label for i in ids})
    else:
        rows = score_managers(by_spec, keys)
    rows = _in_scope(session, principal, rows, q.manager_id)
    return rows.sort_values(PAGE_KEYS[q.level], kind="stable").reset_index(drop=True)


def _ranks_basis(session: Session, company_id: int, cycle: Cycle, keys: list[str]) -> str:
    """What a final cycle's ranks were scored from besides its frozen forecasts and orders: the close they hold,
    the publication, the retailers' managers and statuses, the key brands."""
    return digest([assignment_digest(session, company_id),
                   f"{cycle.status}\t{cycle.closed_at}\t{cycle.published_run_id}", ",".join(sorted(keys))])


def _kept_ranks(session: Session, company_id: int, ids: list[int], keys: list[str]) -> pd.DataFrame:
    """score_managers for each of these final cycles, every manager of the company, kept in accuracy_kept while
    its _ranks_basis holds (a final cycle's forecasts and orders cannot change until a reopen gives it a new
    close): scoring a city cycle's forty thousand cells takes far longer than reading back its hundred rows."""
    cycles = {c.id: c for c in session.execute(select(Cycle).where(Cycle.id.in_(ids))).scalars()}
    bases = {i: _ranks_basis(session, company_id, cycles[i], keys) for i in ids}
    kept = {i: rows for i, basis, rows in session.execute(select(
        AccuracyKept.cycle_id, AccuracyKept.basis_sha256, AccuracyKept.rows).where(AccuracyKept.cycle_id.in_(ids)))
        if basis == bases[i]}
    missing = [i for i in ids if i not in kept]
    frames = [record_frame(kept[i]) for i in ids if i in kept]
    if missing:
        by_spec = score_cells(forecast_frame(session, company_id, missing), actual_frame(session, company_id, missing))
        scored = _empty_managers() if by_spec.empty else score_managers(by_spec, keys)
        frames.append(scored)
        for i in missing:
            rows = scored[scored["period"] == str(i)]
            upsert(session, AccuracyKept.__table__, [{
                "cycle_id": i, "basis_sha256": bases[i], "built_at": utcnow(),
                "rows": frame_record(rows)}],
                keys=["cycle_id"])
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else _empty_managers()


def _empty_managers() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in BY_MANAGER_COLUMNS})
