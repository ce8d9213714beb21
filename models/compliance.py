"""Reads what the compliance figures need (orders, lines, cap moves, published allocations, year-ago history) and
hands it to allocation.compliance, so the API, the CSV export and the console show the one set of definitions.

Only closed or published cycles are reported: their orders are final. An order's manager is its retailer's
current account manager, as for accuracy. The compliance policy (min_cluster, min_lines) is versioned like the
cap policy; every answer names the version it used, the one in force.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, delete, exists, false, func, literal, or_, select, union_all
from sqlmodel import Session

from allocation.compliance import (
    ComplianceData,
    CompliancePolicy,
    cycle_sums,
    last_year_weeks,
    report,
)
from allocation.clusters import CLUSTER_COLUMNS, clusters, may_cluster
from allocation.vocabulary import AdjustmentState, CycleState, RetailerStatus, Role
from models import policies
from models.db import frame_record, read_frame, record_frame, upsert
from models.kept import digest
from models.accuracy import actual_frame, assignment_digest
from models.cycles import ReportQuery, final_cycles
from models.master import team_subquery
from models.tables import Brand, CapAdjustment, CompliancePolicyVersion, Cycle, History, Retailer
from models.tables_demand import ComplianceKept, DemandSnapshotLine, Order, OrderLine
from models.types import utcnow
from models.users import Principal

WHY = "compliance figures are read once the cycle is closed and its orders final"
SUMS_INDEX = ["manager_id", "cycle_id"]  # cycle_sums is indexed by these


def current_policy(session: Session, company_id: int) -> CompliancePolicyVersion:
    """The compliance policy in force (version 1 = the defaults for a fresh company)."""
    return policies.current(session, CompliancePolicyVersion, company_id, CompliancePolicy())


def put_policy(session: Session, principal: Principal, policy: CompliancePolicy) -> CompliancePolicyVersion:
    """Add a version of the thresholds (never edit one), audited old -> new."""
    return policies.put(session, principal, CompliancePolicyVersion, policy, "compliance_policy")


@dataclass
class ComplianceResult:
    rows: pd.DataFrame
    policy_version: int
    policy: CompliancePolicy
    cycle_ids: list[str]
    cycles_not_closed: list[str] = field(default_factory=list)


def _orders(session: Session, company_id: int, ids: list[int],
            policy: CompliancePolicy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Current orders with a total above 0 (manager = the retailer's current one), and the lines (above 0) of those
    that can be in a cluster: each order's line count and total are summed in the database, and only the orders
    that share them with enough others (allocation.clusters.may_cluster) have their lines fetched, a few hundred
    lines of a city's half million."""
    approved = Order.approved_version.is_not(None) & (Order.approved_version == Order.version)
    orders = read_frame(session, select(Order.cycle_id, Order.retailer_id, Retailer.manager_id, Order.channel,
                                        case((approved, 1), else_=0), Order.total)
                        .join(Retailer, and_(Retailer.company_id == Order.company_id,
                                             Retailer.retailer_id == Order.retailer_id))
                        .where(Order.company_id == company_id, Order.cycle_id.in_(ids), Order.total > 0),
                        {"cycle_id": "int64", "retailer_id": "str", "manager_id": "str", "channel": "str",
                         "approved": "int64", "total": "int64"})
    counts = read_frame(session, select(OrderLine.cycle_id, OrderLine.retailer_id, func.count(), func.sum(
        OrderLine.quantity)).where(OrderLine.cycle_id.in_(ids), OrderLine.quantity > 0)
        .group_by(OrderLine.cycle_id, OrderLine.retailer_id),
        {"cycle_id": "int64", "retailer_id": "str", "lines": "int64", "cartons": "int64"})
    sign = orders[["cycle_id", "retailer_id", "manager_id"]].merge(counts, on=["cycle_id", "retailer_id"])
    wanted = sign[may_cluster(sign, policy.min_cluster, policy.min_lines)]
    which = [and_(OrderLine.cycle_id == int(c), OrderLine.retailer_id.in_(list(g["retailer_id"])))
             for c, g in wanted.groupby("cycle_id")]
    lines = read_frame(session, select(OrderLine.cycle_id, OrderLine.retailer_id, OrderLine.brand_code,
                                       OrderLine.quantity).where(or_(*which) if which else false(),
                                                                 OrderLine.quantity > 0),
                       {"cycle_id": "int64", "retailer_id": "str", "brand_code": "str", "quantity": "int64"})
    return orders.assign(approved=orders["approved"] == 1), lines


def _period_names(monday: date) -> list[str]:
    """Every way a history period can name this week (cap policy's reading: an ISO week or any of its dates)."""
    year, week, _ = monday.isocalendar()
    return [f"{year}-W{week:02d}", f"{year}W{week:02d}", *((monday + timedelta(d)).isoformat() for d in range(7))]


def _history(session: Session, company_id: int, cycles: list[Cycle]) -> tuple[pd.DataFrame, frozenset[date]]:
    """Loaded history of the year-ago weeks per (current manager, week, spec), and which of those weeks have any."""
    names = {name: monday for c in cycles for monday in last_year_weeks(c.start_date, c.end_date)
             for name in _period_names(monday)}
    # one round trip, one index probe per name: which of these periods have any row at all
    probes = [select(literal(p)).where(exists().where(History.company_id == company_id, History.period == p))
              for p in names]
    present = list(session.execute(union_all(*probes)).scalars()) if probes else []
    rows = read_frame(session, select(Retailer.manager_id, History.period, History.brand_code,
                                      func.sum(History.quantity))
                      .join(Retailer, and_(Retailer.company_id == History.company_id,
                                           Retailer.retailer_id == History.retailer_id))
                      .where(History.company_id == company_id, History.period.in_(present))
                      .group_by(Retailer.manager_id, History.period, History.brand_code),
                      {"manager_id": "str", "period": "str", "brand_code": "str", "quantity": "int64"})
    rows["week"] = rows["period"].map(names)
    return rows.drop(columns="period"), frozenset(names[p] for p in present)


def gather(session: Session, company_id: int, cycles: list[Cycle], policy: CompliancePolicy) -> ComplianceData:
    """Everything the figures of these (final) cycles need, read with a few set-wise queries."""
    ids = [c.id for c in cycles]
    orders, lines = _orders(session, company_id, ids, policy)
    demand = actual_frame(session, company_id, ids)
    demand = pd.DataFrame({"cycle_id": demand["period"].astype("int64"), "manager_id": demand["manager_id"],
                           "brand_code": demand["brand_code"], "quantity": demand["quantity"]})
    retailers = read_frame(session, select(Retailer.retailer_id, Retailer.manager_id,
                                           case((Retailer.status == RetailerStatus.ACTIVE, 1), else_=0))
                           .where(Retailer.company_id == company_id),
                           {"retailer_id": "str", "manager_id": "str", "active": "int64"})
    brands = read_frame(session, select(Brand.brand_code, Brand.wholesale_price, case((Brand.is_key, 1), else_=0))
                        .where(Brand.company_id == company_id),
                        {"brand_code": "str", "wholesale_price": "float64", "is_key": "int64"})
    moves = session.execute(select(CapAdjustment.cycle_id, CapAdjustment.manager_id, CapAdjustment.moves).where(
        CapAdjustment.company_id == company_id, CapAdjustment.cycle_id.in_(ids),
        CapAdjustment.status == AdjustmentState.APPROVED))
    adjustments = pd.DataFrame([(c, m, sum(int(x["quantity"]) for x in mv)) for c, m, mv in moves],
                               columns=["cycle_id", "manager_id", "cartons"])
    # the published cycles' allocation, kept per manager and spec in the demand snapshots actual_frame refreshed
    allocated = read_frame(session, select(DemandSnapshotLine.cycle_id, DemandSnapshotLine.manager_id,
                                           DemandSnapshotLine.brand_code, DemandSnapshotLine.allocated)
                           .join(Cycle, Cycle.id == DemandSnapshotLine.cycle_id)
                           .where(Cycle.company_id == company_id, Cycle.status == CycleState.PUBLISHED,
                                  DemandSnapshotLine.cycle_id.in_(ids), DemandSnapshotLine.allocated > 0),
                           {"cycle_id": "int64", "manager_id": "str", "brand_code": "str", "quantity": "int64"})
    history, loaded = _history(session, company_id, cycles)
    frame = pd.DataFrame({"cycle_id": ids, "start_date": [c.start_date for c in cycles],
                          "end_date": [c.end_date for c in cycles]})
    return ComplianceData(cycles=frame, retailers=retailers, orders=orders, lines=lines, demand=demand, brands=brands,
                          adjustments=adjustments, allocated=allocated, history=history, loaded_weeks=loaded)


def _visible(session: Session, principal: Principal, managers: pd.Series, manager_id: str | None) -> np.ndarray:
    """Which rows (by manager; None is the company row) the caller may see: auditors and admins everything, a
    market manager his team's rows; a manager_id filter keeps that manager's rows only."""
    keep = np.ones(len(managers), dtype=bool)
    if principal.role == Role.MARKET_MANAGER:
        keep &= managers.isin(list(session.execute(team_subquery(principal)).scalars())).to_numpy()
    if manager_id is not None:
        keep &= (managers == manager_id).to_numpy()
    return keep


def _scope(session: Session, principal: Principal, q: ReportQuery):
    """The final cycles asked for, those left out, the range label, and the policy in force (version, thresholds)."""
    cycles, not_closed, label = final_cycles(session, principal.company_id, q, WHY)
    row = current_policy(session, principal.company_id)
    return cycles, not_closed, label, row.version, CompliancePolicy.model_validate(row.params)


def _basis(session: Session, company_id: int, cycles: list[Cycle], version: int) -> str:
    """SHA-256 of everything gather reads that can change while the cycles stay final: their closes and
    publications, the retailers' managers and statuses, the brands' prices and key flags, the approved cap moves,
    the policy version. (Orders cannot change until a reopen gives the cycle a new close; history changes only by
    a load, which forgets the kept sums.)"""
    brands = session.execute(select(Brand.brand_code, Brand.wholesale_price, Brand.is_key)
                             .where(Brand.company_id == company_id).order_by(Brand.brand_code)).all()
    moves = session.execute(select(CapAdjustment.id, CapAdjustment.manager_id, CapAdjustment.moves).where(
        CapAdjustment.company_id == company_id, CapAdjustment.cycle_id.in_([c.id for c in cycles]),
        CapAdjustment.status == AdjustmentState.APPROVED).order_by(CapAdjustment.id)).all()
    parts = [assignment_digest(session, company_id), f"policy {version}",
             *(f"{c.id}\t{c.status}\t{c.closed_at}\t{c.published_run_id}\t{c.start_date}\t{c.end_date}"
               for c in cycles), *(repr(tuple(b)) for b in brands), *(json.dumps(list(m), sort_keys=True) for m in moves)]
    return digest(parts)


def _sums_and_clusters(session: Session, company_id: int, cycles: list[Cycle], version: int,
                       policy: CompliancePolicy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """cycle_sums and the clusters of these final cycles, kept in compliance_kept while their _basis holds:
    gathering a city cycle's orders, lines and demand takes seconds, reading the kept sums milliseconds."""
    key = hashlib.sha256(",".join(str(i) for i in sorted(c.id for c in cycles)).encode()).hexdigest()
    basis = _basis(session, company_id, cycles, version)
    kept = session.execute(select(ComplianceKept.basis_sha256, ComplianceKept.sums, ComplianceKept.clusters).where(
        ComplianceKept.company_id == company_id, ComplianceKept.cycles_sha256 == key)).first()
    if kept is not None and kept.basis_sha256 == basis:
        return record_frame(kept.sums).set_index(SUMS_INDEX), record_frame(kept.clusters)
    data = gather(session, company_id, cycles, policy)
    sums = cycle_sums(data, policy)
    found = clusters(data.orders, data.lines, policy.min_cluster, policy.min_lines)
    upsert(session, ComplianceKept.__table__, [{"company_id": company_id, "cycles_sha256": key, "basis_sha256": basis,
                                                "sums": frame_record(sums.reset_index()),
                                                "clusters": frame_record(found[CLUSTER_COLUMNS]), "built_at": utcnow()}],
           keys=["company_id", "cycles_sha256"])
    return sums, found


def forget_kept(session: Session, company_id: int) -> None:
    """Drop the company's kept sums (history was loaded: the year-ago weeks may read otherwise now)."""
    session.execute(delete(ComplianceKept).where(ComplianceKept.company_id == company_id))


def figures(session: Session, principal: Principal, q: ReportQuery) -> ComplianceResult:
    """Per manager (and the company, manager_id None) for one cycle or pooled over a range, in the caller's
    scope, the company row first, then by manager_id."""
    return figures_and_clusters(session, principal, q)[0]


def cluster_rows(session: Session, principal: Principal, q: ReportQuery) -> ComplianceResult:
    """The identical-order clusters of one cycle (or a range's cycles) in the caller's scope, by cycle, manager
    and first retailer."""
    return figures_and_clusters(session, principal, q)[1]


def figures_and_clusters(session: Session, principal: Principal,
                         q: ReportQuery) -> tuple[ComplianceResult, ComplianceResult]:
    """figures and cluster_rows from one read of the kept sums (the console page shows both)."""
    cycles, not_closed, label, version, policy = _scope(session, principal, q)
    sums, found = _sums_and_clusters(session, principal.company_id, cycles, version, policy)
    ids, left_out = [str(c.id) for c in cycles], [str(c.id) for c in not_closed]
    rows = report(sums, label)
    rows = rows[_visible(session, principal, rows["manager_id"], q.manager_id)]
    rows = (rows.assign(policy_version=version, sort_key=rows["manager_id"].fillna(""))
            .sort_values(["period", "sort_key"], kind="stable").reset_index(drop=True))
    found = found[_visible(session, principal, found["manager_id"], q.manager_id)].reset_index(drop=True)
    found = found.assign(cycle_id=found["cycle_id"].astype("int64"),
                         first_retailer_id=found["retailer_ids"].map(lambda ids: ids[0]))
    return (ComplianceResult(rows, version, policy, ids, left_out),
            ComplianceResult(found, version, policy, ids, left_out))
