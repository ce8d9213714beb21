"""What the cycle board shows: orders by channel and status, sign-offs pending, caps missing, demand vs supply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from allocation.vocabulary import Channel, OrderState, RetailerStatus, values
from models.cycles import get_cycle
from models.db import upsert
from models.kept import renew
from models.orders import APPROVED_NOW, order_status
from models.tables import Brand, Cap, Cycle, Retailer, Supply
from models.tables_demand import Order, OrderLine, SpecTotal, SpecTotalBasis
from models.tables_runs import Allocation
from models.types import utcnow
from models.users import Principal


def cycle_counts(session: Session, company_id: int, cycle_ids: Sequence[int],
                 ordered_without_cap: bool = False) -> dict[int, dict]:
    """Per cycle: orders by channel and sign-off status, collected orders pending, retailers without a cap (and,
    when asked, orders whose retailer has no cap).

    Three grouped statements for any number of cycles, so a board of cycles costs what one cycle costs.
    """
    ids = list(cycle_ids)
    counts = {cid: {"orders": 0, "cartons": 0, "by_channel": dict.fromkeys(values(Channel), 0),
                    "by_status": dict.fromkeys(values(OrderState), 0),
                    "collected_pending": 0, "capped_active_retailers": 0, "retailers_without_cap": 0,
                    "ordered_without_cap": 0} for cid in ids}
    if not ids:
        return counts
    approved = case((APPROVED_NOW, 1), else_=0)
    capped_orders = func.count(Cap.retailer_id) if ordered_without_cap else func.count()
    stmt = (select(Order.cycle_id, Order.channel, approved, func.count(), func.coalesce(func.sum(Order.total), 0),
                   capped_orders)
            .where(Order.company_id == company_id, Order.cycle_id.in_(ids))
            .group_by(Order.cycle_id, Order.channel, approved))
    if ordered_without_cap:  # the cycle page's figure (closing waits for 0); the board leaves the join out
        stmt = stmt.outerjoin(Cap, and_(Cap.cycle_id == Order.cycle_id, Cap.retailer_id == Order.retailer_id))
    for cid, channel, is_approved, n, cartons, capped in session.execute(stmt).all():
        c = counts[cid]
        c["orders"] += n
        c["cartons"] += int(cartons)
        c["by_channel"][channel] += n
        c["ordered_without_cap"] += n - capped
        c["by_status"][order_status(channel, 1, 1 if is_approved else None)] += n
    for c in counts.values():
        c["collected_pending"] = c["by_status"][OrderState.PENDING_APPROVAL]
    active = session.execute(select(func.count()).where(Retailer.company_id == company_id,
                                                        Retailer.status == RetailerStatus.ACTIVE)).scalar_one()
    capped = dict(session.execute(
        select(Cap.cycle_id, func.count())
        .join(Retailer, and_(Retailer.company_id == Cap.company_id, Retailer.retailer_id == Cap.retailer_id))
        .where(Cap.cycle_id.in_(ids), Retailer.status == RetailerStatus.ACTIVE).group_by(Cap.cycle_id)).all())
    for cid, c in counts.items():
        c["capped_active_retailers"] = int(capped.get(cid, 0))
        c["retailers_without_cap"] = active - c["capped_active_retailers"]
    return counts


def _summed(session: Session, cycle_id: int, run_id: int | None) -> tuple[dict[str, int], dict[str, int]]:
    """Per spec: cartons ordered (every current order) and, for a run, its cartons allocated, summed from the rows."""
    demand = dict(session.execute(select(OrderLine.brand_code, func.sum(OrderLine.quantity))
                                  .where(OrderLine.cycle_id == cycle_id).group_by(OrderLine.brand_code)).all())
    allocated = {}
    if run_id is not None:
        allocated = dict(session.execute(select(Allocation.brand_code, func.sum(Allocation.allocated))
                                         .where(Allocation.run_id == run_id).group_by(Allocation.brand_code)).all())
    return demand, allocated


def _orders_fingerprint(session: Session, cycle_id: int) -> str:
    """The cycle's orders in one line: every change of an order's lines writes a new version of the order (and
    orders are never deleted), so their count, versions summed and latest write change whenever any line does."""
    n, versions, latest = session.execute(select(func.count(), func.coalesce(func.sum(Order.version), 0),
                                                 func.max(Order.submitted_at)).where(Order.cycle_id == cycle_id)).one()
    return f"{n}\t{versions}\t{latest}"


def spec_sums(session: Session, cycle: Cycle) -> tuple[dict[str, int], dict[str, int]]:
    """_summed for the cycle and its published run, kept in spec_total while the cycle's orders (_orders_fingerprint),
    close and publication hold: a final cycle's orders cannot change until a reopen, and an open cycle's page is
    viewed far more often than an order is written."""
    # the fingerprint before the sums: sums read later can only be newer, and a newer state is summed again
    orders = _orders_fingerprint(session, cycle.id)
    basis = session.execute(select(SpecTotalBasis.closed_at, SpecTotalBasis.run_id, SpecTotalBasis.orders)
                            .where(SpecTotalBasis.cycle_id == cycle.id)).first()
    if basis is None or tuple(basis) != (cycle.closed_at, cycle.published_run_id, orders):
        demand, allocated = _summed(session, cycle.id, cycle.published_run_id)
        renew(session, SpecTotalBasis.__table__, {"cycle_id": cycle.id, "closed_at": cycle.closed_at,
                                                  "run_id": cycle.published_run_id, "orders": orders,
                                                  "built_at": utcnow()}, ["cycle_id"], SpecTotal.__table__)
        upsert(session, SpecTotal.__table__, [{"cycle_id": cycle.id, "brand_code": code, "demand": demand.get(code),
                                               "allocated": allocated.get(code)}
                                              for code in sorted(demand.keys() | allocated.keys())],
               keys=["cycle_id", "brand_code"])
        return demand, allocated
    rows = session.execute(select(SpecTotal.brand_code, SpecTotal.demand, SpecTotal.allocated)
                           .where(SpecTotal.cycle_id == cycle.id)).all()
    return ({code: d for code, d, _ in rows if d is not None}, {code: a for code, _, a in rows if a is not None})


def demand_and_supply(session: Session, company_id: int, cycle: Cycle) -> list[dict]:
    """Per spec: cartons ordered (every current order), supply, and once published the cartons allocated."""
    demand, allocated = spec_sums(session, cycle)
    supply = dict(session.execute(select(Supply.brand_code, Supply.quantity).where(Supply.cycle_id == cycle.id)).all())
    codes = sorted(demand.keys() | supply.keys())
    names = dict(session.execute(select(Brand.brand_code, Brand.name).where(
        Brand.company_id == company_id, Brand.brand_code.in_(codes))).all()) \
        if codes else {}
    return [{"brand_code": code, "name": names.get(code, ""), "demand": int(demand.get(code, 0)),
             "supply": int(supply.get(code, 0)),
             "allocated": int(allocated[code]) if code in allocated else None} for code in codes]


@dataclass(frozen=True)
class CycleSummary:
    """One cycle as the board shows it: the cycle, the counts above, and demand against supply per spec."""

    cycle: Cycle
    counts: dict
    specs: list[dict]


def cycle_summary(session: Session, principal: Principal, cycle_id: int | str) -> CycleSummary:
    """One cycle as the board shows it: its state, the counts above, and demand against supply per spec."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    counts = cycle_counts(session, principal.company_id, [cycle.id], ordered_without_cap=True)[cycle.id]
    return CycleSummary(cycle, counts, demand_and_supply(session, principal.company_id, cycle))


def caps_overview(session: Session, company_id: int, cycle_id: int) -> dict[str, dict]:
    """The cycle's caps by source (computed from the policy, set by hand, adjusted by a move): count and total."""
    rows = session.execute(select(Cap.source, func.count(), func.coalesce(func.sum(Cap.cap), 0))
                           .where(Cap.cycle_id == cycle_id, Cap.company_id == company_id)
                           .group_by(Cap.source)).all()
    return {source: {"caps": n, "total": int(total)} for source, n, total in rows}


FILL_BUCKETS = 12  # 0, then ten tenths (0-10 % ... 90-100 %, open at 100 %), then full


def fill_counts(demanded: np.ndarray, allocated: np.ndarray) -> list[int]:
    """fill_histogram's buckets from rows in memory: a run keeps them in its totals when it writes its rows."""
    d, a = np.asarray(demanded, np.int64), np.asarray(allocated, np.int64)
    keep = d > 0
    d, a = d[keep], a[keep]
    bucket = np.where(a == 0, 0, np.where(a >= d, FILL_BUCKETS - 1, (a * 10) // np.maximum(d, 1) + 1))
    return [int(n) for n in np.bincount(bucket, minlength=FILL_BUCKETS)]


def run_fill_histogram(session: Session, run, table=Allocation) -> list[int]:
    """A run's (or, with table=ScenarioAllocation, a scenario's) fill-ratio histogram: from its totals (written
    with its rows), else counted from the rows."""
    kept = (run.totals or {}).get("fill_histogram")
    return list(kept) if kept else fill_histogram(session, run.id, table)


def fill_histogram(session: Session, run_id: int, table=Allocation) -> list[int]:
    """Lines of a run (or, with table=ScenarioAllocation, of a scenario) by fill ratio (allocated / demanded):
    none, each tenth short of full, and full."""
    key = table.run_id if table is Allocation else table.scenario_id
    bucket = case((table.allocated == 0, 0), (table.allocated >= table.demanded, FILL_BUCKETS - 1),
                  else_=(table.allocated * 10) // table.demanded + 1)
    counts = [0] * FILL_BUCKETS
    for b, n in session.execute(select(bucket, func.count()).where(key == run_id, table.demanded > 0)
                                .group_by(bucket)).all():
        counts[int(b)] += n
    return counts
