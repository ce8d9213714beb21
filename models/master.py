"""Master data queries and the ownership rules every other query reuses (whose retailers are whose)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from allocation.vocabulary import Role
from models.errors import NotFound
from models.pagination import entity_page
from models.tables import Brand, Manager, Retailer
from models.users import Principal


def team_subquery(principal: Principal):
    """The account-manager ids a market manager supervises."""
    return select(Manager.manager_id).where(Manager.company_id == principal.company_id,
                                            Manager.market_manager_id == principal.manager_id)


def scope_retailers(stmt, principal: Principal, manager_col=Retailer.manager_id):
    """Restrict a statement over retailers to the ones the caller may see."""
    if principal.role == Role.ACCOUNT_MANAGER:
        return stmt.where(manager_col == principal.manager_id)
    if principal.role == Role.MARKET_MANAGER:
        return stmt.where(manager_col.in_(team_subquery(principal)))
    return stmt


def may_see_manager(session: Session, principal: Principal, manager_id: str) -> bool:
    if principal.role == Role.ACCOUNT_MANAGER:
        return manager_id == principal.manager_id
    if principal.role == Role.MARKET_MANAGER:
        m = session.get(Manager, (principal.company_id, manager_id))
        return m is not None and m.market_manager_id == principal.manager_id
    return session.get(Manager, (principal.company_id, manager_id)) is not None


def visible_retailer(session: Session, principal: Principal, retailer_id: str) -> Retailer:
    """The retailer if the caller may see it; otherwise 404, the same as one that does not exist."""
    retailer = session.get(Retailer, (principal.company_id, retailer_id))
    if retailer is None or not may_see_manager(session, principal, retailer.manager_id):
        raise NotFound(f"no retailer {retailer_id!r} among yours")
    return retailer


def list_retailers(session: Session, principal: Principal, cursor: str | None, limit: int,
                   manager_id: str | None = None, route_id: str | None = None, status: str | None = None):
    stmt = select(Retailer).where(Retailer.company_id == principal.company_id)
    stmt = scope_retailers(stmt, principal)
    if manager_id:
        stmt = stmt.where(Retailer.manager_id == manager_id)
    if route_id:
        stmt = stmt.where(Retailer.route_id == route_id)
    if status:
        stmt = stmt.where(Retailer.status == status)
    return entity_page(session, stmt, [Retailer.retailer_id], cursor, limit)


def list_brands(session: Session, principal: Principal, cursor: str | None, limit: int,
                is_key: bool | None = None):
    stmt = select(Brand).where(Brand.company_id == principal.company_id)
    if is_key is not None:
        stmt = stmt.where(Brand.is_key == is_key)
    return entity_page(session, stmt, [Brand.brand_code], cursor, limit)


def brand_codes(session: Session, company_id: int) -> set[str]:
    return set(session.execute(select(Brand.brand_code).where(Brand.company_id == company_id)).scalars())


def delivery_routes(session: Session, company_id: int) -> list[tuple[str, int]]:
    """Every (route, delivery weekday) the company's retailers are on, for a pick list per route and day."""
    return [tuple(r) for r in session.execute(
        select(Retailer.route_id, Retailer.delivery_weekday).where(Retailer.company_id == company_id)
        .group_by(Retailer.route_id, Retailer.delivery_weekday)
        .order_by(Retailer.route_id, Retailer.delivery_weekday)).all()]
