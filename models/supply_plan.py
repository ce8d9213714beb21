"""The supply policy, a cycle's availability and its supply plan, read from the orders, forecasts and history
of the company (the arithmetic is allocation.supply_plan's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from sqlalchemy import and_, delete, func, select
from sqlmodel import Session

from allocation.projection import iso_week, monday_of, period_week, project_mean, weekly_demand, weeks_before
from allocation.supply_plan import SupplyPolicy, plan_totals, projected_parts, supply_plan
from allocation.vocabulary import FINAL_CYCLE_STATES, RetailerStatus
from models import policies
from models.cycles import check_spec_lines, get_cycle, replace_quantities
from models.accuracy import assignment_digest
from models.db import copy_frame, read_frame
from models.kept import digest, renew
from models.orders import COUNTED
from models.pagination import page
from models.tables import Brand, Cycle, History, Retailer
from models.tables_demand import Forecast, ForecastVersion, Order, OrderLine
from models.tables_supply import Availability, ProjectionBasis, ProjectionLine, SupplyPolicyVersion
from models.types import utcnow
from models.users import Principal

WEEKLY = {"manager_id": "str", "week": "str", "brand_code": "str", "quantity": "int64"}
LINES = {"manager_id": "str", "brand_code": "str", "quantity": "int64"}


def current_policy(session: Session, company_id: int) -> SupplyPolicyVersion:
    """The supply policy in force (version 1 = the defaults for a fresh company)."""
    return policies.current(session, SupplyPolicyVersion, company_id, SupplyPolicy())


def put_policy(session: Session, principal: Principal, policy: SupplyPolicy) -> SupplyPolicyVersion:
    """A new version of the supply policy, audited; an identical body keeps the current one."""
    return policies.put(session, principal, SupplyPolicyVersion, policy, "supply_policy")


def replace_availability(session: Session, principal: Principal, cycle_id: int | str,
                         lines: list[tuple[str, int]]) -> dict:
    """Make the cycle's availability exactly these specs (a spec left out is unlimited), in any cycle state."""
    check_spec_lines(session, principal.company_id, [code for code, _ in lines])
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    return replace_quantities(session, principal, cycle, Availability, lines, "availability.replace")


def list_availability(session: Session, company_id: int, cycle_id: int | str, cursor: str | None, limit: int):
    """The cycle's availability by spec code."""
    cycle = get_cycle(session, company_id, cycle_id)
    stmt = select(Availability.brand_code, Availability.quantity).where(Availability.cycle_id == cycle.id)
    return page(session, stmt, [Availability.brand_code], cursor, limit)


def _empty(dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


def _of_active_retailers(stmt, company_col, retailer_col):
    """Join a per-retailer statement to the retailer's current manager, keeping active retailers only."""
    return stmt.join(Retailer, and_(Retailer.company_id == company_col,
                                    Retailer.retailer_id == retailer_col)).where(Retailer.status == RetailerStatus.ACTIVE)


def _cycle_weeks(session: Session, company_id: int, weeks: list[str], found: list) -> tuple[pd.DataFrame, set[str]]:
    """Counted demand (as accuracy's actuals) of active retailers in the closed or published cycles starting in
    the window (found by _final_in), per (current manager, week, spec); and the weeks those cycles cover."""
    if not found:
        return _empty(WEEKLY), set()
    week_of = {cid: iso_week(start) for cid, start, *_ in found}
    stmt = (select(Retailer.manager_id, OrderLine.cycle_id, OrderLine.brand_code, func.sum(OrderLine.quantity))
            .select_from(OrderLine)
            .join(Order, and_(Order.cycle_id == OrderLine.cycle_id, Order.retailer_id == OrderLine.retailer_id)))
    stmt = (_of_active_retailers(stmt, Order.company_id, Order.retailer_id)
            .where(Order.company_id == company_id, OrderLine.cycle_id.in_(list(week_of)), COUNTED)
            .group_by(Retailer.manager_id, OrderLine.cycle_id, OrderLine.brand_code))
    frame = read_frame(session, stmt, {"manager_id": "str", "cycle_id": "int64", "brand_code": "str",
                                       "quantity": "int64"})
    frame["week"] = frame["cycle_id"].map(week_of).astype(str)
    return frame[list(WEEKLY)], set(week_of.values())


def _history_weeks(session: Session, company_id: int, weeks: list[str], covered: set[str]) -> pd.DataFrame:
    """Loaded history of active retailers in the window's weeks that no cycle covers, per (manager, week, spec)."""
    wanted = set(weeks) - covered
    periods = session.execute(select(History.period).where(History.company_id == company_id).distinct()).scalars()
    week_of = {p: w for p in periods if (w := period_week(p)) in wanted}
    if not week_of:
        return _empty(WEEKLY)
    stmt = _of_active_retailers(select(Retailer.manager_id, History.period, History.brand_code,
                                       func.sum(History.quantity)).select_from(History),
                                 History.company_id, History.retailer_id)
    stmt = (stmt.where(History.company_id == company_id, History.period.in_(list(week_of)))
            .group_by(Retailer.manager_id, History.period, History.brand_code))
    frame = read_frame(session, stmt, {"manager_id": "str", "period": "str", "brand_code": "str",
                                       "quantity": "int64"})
    return frame.assign(week=frame["period"].map(week_of))[list(WEEKLY)]


def _final_in(session: Session, company_id: int, weeks: list[str]) -> list:
    """The closed or published cycles starting in the window: id, start date, status and the close they hold."""
    return session.execute(select(Cycle.id, Cycle.start_date, Cycle.status, Cycle.closed_at).where(
        Cycle.company_id == company_id, Cycle.status.in_(FINAL_CYCLE_STATES), Cycle.start_date >= monday_of(weeks[0]),
        Cycle.start_date < monday_of(weeks[-1]) + timedelta(days=7)).order_by(Cycle.id)).all()


def projected(session: Session, company_id: int, weeks: list[str]) -> pd.DataFrame:
    """Each active manager's mean week per spec over the window (project_mean), kept in projection_line while the
    window's final cycles (each frozen until a reopen gives it a new close), the retailers' managers and statuses
    hold; a history load forgets the company's kept windows. Summing a city's weeks takes seconds, reading them
    back a few milliseconds."""
    found = _final_in(session, company_id, weeks)
    key = f"{weeks[0]}+{len(weeks)}"
    basis = digest([assignment_digest(session, company_id), ",".join(weeks),
                    *(f"{i}\t{start}\t{st}\t{closed}" for i, start, st, closed in found)])
    if basis == session.execute(select(ProjectionBasis.basis_sha256).where(
            ProjectionBasis.company_id == company_id, ProjectionBasis.weeks == key)).scalar():
        return read_frame(session, select(ProjectionLine.manager_id, ProjectionLine.brand_code, ProjectionLine.quantity)
                          .where(ProjectionLine.company_id == company_id, ProjectionLine.weeks == key)
                          .order_by(ProjectionLine.manager_id, ProjectionLine.brand_code), LINES)
    cycles, covered = _cycle_weeks(session, company_id, weeks, found)
    history = _history_weeks(session, company_id, weeks, covered)
    projections = project_mean(weekly_demand(cycles, covered, history, weeks), len(weeks))
    renew(session, ProjectionBasis.__table__, {"company_id": company_id, "weeks": key, "basis_sha256": basis,
                                               "built_at": utcnow()}, ["company_id", "weeks"], ProjectionLine.__table__)
    copy_frame(session, ProjectionLine.__table__, projections.assign(company_id=company_id, weeks=key)[
        ["company_id", "weeks", "manager_id", "brand_code", "quantity"]])
    return projections


def forget_projections(session: Session, company_id: int) -> None:
    """Drop the company's kept windows (history was loaded: the weeks it covers may read otherwise now)."""
    session.execute(delete(ProjectionLine).where(ProjectionLine.company_id == company_id))
    session.execute(delete(ProjectionBasis).where(ProjectionBasis.company_id == company_id))


@dataclass
class Plan:
    """A cycle's supply plan with what it was made from."""

    cycle: Cycle
    policy_version: int
    policy: SupplyPolicy
    weeks: list[str]
    basis: str
    managers: int
    forecasters: int
    rows: pd.DataFrame
    totals: dict


def supply_plan_of(session: Session, company_id: int, cycle_id: int | str) -> Plan:
    """The cycle's supply plan under the supply policy in force (any cycle state)."""
    cycle = get_cycle(session, company_id, cycle_id)
    row = current_policy(session, company_id)
    policy = SupplyPolicy.model_validate(row.params)
    weeks = weeks_before(cycle.start_date, policy.weeks)
    managers = set(session.execute(select(Retailer.manager_id).where(
        Retailer.company_id == company_id, Retailer.status == RetailerStatus.ACTIVE).distinct()).scalars())
    forecasters = set(session.execute(select(ForecastVersion.manager_id).where(
        ForecastVersion.cycle_id == cycle.id).distinct()).scalars())
    forecasts = read_frame(session, select(Forecast.manager_id, Forecast.brand_code, Forecast.quantity)
                           .where(Forecast.cycle_id == cycle.id), LINES)
    projections = projected(session, company_id, weeks)
    parts, basis = projected_parts(managers, forecasters, forecasts, projections)
    brands = read_frame(session, select(Brand.brand_code, Brand.price_class).where(Brand.company_id == company_id),
                        {"brand_code": "str", "price_class": "int64"})
    availability = read_frame(session, select(Availability.brand_code, Availability.quantity)
                              .where(Availability.cycle_id == cycle.id), {"brand_code": "str", "quantity": "int64"})
    rows = supply_plan(parts, basis, brands, availability, policy)
    return Plan(cycle, row.version, policy, weeks, basis, len(managers), len(managers & forecasters), rows,
                plan_totals(rows))
