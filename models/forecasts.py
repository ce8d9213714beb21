"""Managers' forecasts: accepted only while a cycle is planned and kept in every version, so a score
always rests on a forecast made before anybody saw the orders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from allocation.vocabulary import CycleState, Role
from models.audit import record
from models.cycles import cycle_status, get_cycle
from models.errors import Conflict, Invalid, NotFound
from models.master import brand_codes, may_see_manager, scope_retailers
from models.pagination import entity_page
from models.tables import Manager
from models.tables_demand import Forecast, ForecastVersion
from models.types import utcnow
from models.users import Principal


def _normalised(lines: Iterable[Mapping]) -> list[dict]:
    """Sorted by spec, so an identical forecast sent in another order is recognised as unchanged."""
    return sorted(({"brand_code": str(x["brand_code"]), "quantity": int(x["quantity"])} for x in lines),
                  key=lambda x: x["brand_code"])


def view(version: ForecastVersion) -> dict:
    """The stored forecast as the API shows it."""
    lines = _normalised(version.lines)
    return {"cycle_id": str(version.cycle_id), "manager_id": version.manager_id, "version": version.version,
            "submitted_at": version.submitted_at, "submitted_by": str(version.submitted_by),
            "total": sum(x["quantity"] for x in lines), "lines": lines}


def _latest(session: Session, cycle_id: int, manager_id: str) -> ForecastVersion | None:
    stmt = (select(ForecastVersion).where(ForecastVersion.cycle_id == cycle_id,
                                          ForecastVersion.manager_id == manager_id)
            .order_by(ForecastVersion.version.desc()).limit(1))
    return session.execute(stmt).scalar_one_or_none()


def _visible_manager(session: Session, principal: Principal, manager_id: str) -> None:
    """404 for a manager the caller may not see, the same answer as for one that does not exist."""
    if not may_see_manager(session, principal, manager_id):
        raise NotFound(f"no account manager {manager_id!r} among the ones you may see", "manager_not_found")


def replace_forecast(session: Session, principal: Principal, cycle_id: str, manager_id: str,
                     lines: Iterable[Mapping]) -> dict:
    """Stores the manager's whole forecast for a planned cycle as a new version; an identical forecast keeps
    its version and timestamp, so repeating a PUT changes nothing."""
    lines = _normalised(lines)
    unknown = sorted({x["brand_code"] for x in lines} - brand_codes(session, principal.company_id))
    if unknown:
        raise Invalid(f"unknown spec(s) {', '.join(map(repr, unknown[:10]))}; use brand codes from /v1/brands",
                      "unknown_brand", brand_codes=unknown[:100])
    if principal.role != Role.ACCOUNT_MANAGER or manager_id != principal.manager_id:
        raise NotFound(f"no account manager {manager_id!r} among yours; a manager forecasts for himself only",
                       "manager_not_found")
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    status = cycle_status(cycle)
    if status != CycleState.PLANNED:
        raise Conflict(f"forecasts close when orders open: cycle {cycle.id} ({cycle.name}) is {status}, so a "
                       "forecast now could follow orders already seen; forecast the next planned cycle",
                       "cycle_state", status=status)
    # serialize one manager's writers so two PUTs never claim the same version number
    session.get(Manager, (principal.company_id, manager_id), with_for_update=True, populate_existing=True)
    current = _latest(session, cycle.id, manager_id)
    if current is not None and _normalised(current.lines) == lines:
        return view(current)
    version = ForecastVersion(cycle_id=cycle.id, manager_id=manager_id, version=(current.version + 1) if current else 1,
                              company_id=principal.company_id, lines=lines, submitted_by=principal.user_id,
                              submitted_at=utcnow())
    session.add(version)
    session.execute(delete(Forecast).where(Forecast.cycle_id == cycle.id, Forecast.manager_id == manager_id))
    if lines:
        session.execute(insert(Forecast), [
            {"cycle_id": cycle.id, "manager_id": manager_id, "brand_code": x["brand_code"],
             "company_id": principal.company_id, "quantity": x["quantity"], "version": version.version,
             "submitted_at": version.submitted_at} for x in lines])
    record(session, principal, "forecast.replace", "forecast", f"{cycle.id}/{manager_id}",
           old=_audit_side(current), new=_audit_side(version))
    session.flush()
    return view(version)


def _audit_side(version: ForecastVersion | None) -> dict | None:
    """Version, total and the lines by spec: enough for an auditor to see what changed."""
    if version is None:
        return None
    lines = _normalised(version.lines)
    return {"version": version.version, "total": sum(x["quantity"] for x in lines),
            "lines": {x["brand_code"]: x["quantity"] for x in lines}}


def get_forecast(session: Session, principal: Principal, cycle_id: str, manager_id: str,
                 version: int | None = None) -> dict:
    """The current forecast, or one earlier version of it, if the caller may see that manager."""
    _visible_manager(session, principal, manager_id)
    cycle = get_cycle(session, principal.company_id, cycle_id)
    if version is None:
        found = _latest(session, cycle.id, manager_id)
    else:
        found = session.get(ForecastVersion, (cycle.id, manager_id, version))
    if found is None or found.company_id != principal.company_id:
        which = f"version {version} of the forecast" if version is not None else "forecast"
        raise NotFound(f"no {which} of manager {manager_id!r} for cycle {cycle.id}", "forecast_not_found")
    return view(found)


def list_versions(session: Session, principal: Principal, cycle_id: str, manager_id: str,
                  cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every version of one manager's forecast for a cycle, oldest first: the forecast's history."""
    _visible_manager(session, principal, manager_id)
    cycle = get_cycle(session, principal.company_id, cycle_id)
    stmt = select(ForecastVersion).where(ForecastVersion.cycle_id == cycle.id,
                                         ForecastVersion.manager_id == manager_id)
    versions, nxt = entity_page(session, stmt, [ForecastVersion.version], cursor, limit)
    return [view(v) for v in versions], nxt


def list_forecasts(session: Session, principal: Principal, cycle_id: str, cursor: str | None, limit: int,
                   manager_id: str | None = None) -> tuple[list[dict], str | None]:
    """Who has forecast a cycle (current version per manager), limited to the managers the caller may see."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    latest = (select(ForecastVersion.manager_id, func.max(ForecastVersion.version).label("version"))
              .where(ForecastVersion.cycle_id == cycle.id).group_by(ForecastVersion.manager_id).subquery())
    stmt = (select(ForecastVersion)
            .join(latest, (latest.c.manager_id == ForecastVersion.manager_id)
                  & (latest.c.version == ForecastVersion.version))
            .where(ForecastVersion.cycle_id == cycle.id, ForecastVersion.company_id == principal.company_id))
    stmt = scope_retailers(stmt, principal, ForecastVersion.manager_id)
    if manager_id:
        stmt = stmt.where(ForecastVersion.manager_id == manager_id)
    versions, nxt = entity_page(session, stmt, [ForecastVersion.manager_id], cursor, limit)
    out = []
    for v in versions:
        shown = view(v)
        out.append({**shown, "lines": len(shown["lines"])})
    return out, nxt
