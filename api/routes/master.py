"""Master data reads: retailers (a manager sees his own) and specs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import text

from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import ManagerFilter, RetailerId, text_filter
from api.schemas import BrandOut, Page, RetailerOut
from models.master import list_brands, list_retailers, visible_retailer
from models.users import Principal

router = APIRouter()
service = APIRouter()  # open routes, without the authenticated routes' error responses
AnyRole = Annotated[Principal, Depends(require(*Role))]


@service.get("/health", tags=["service"])
def health(session: SessionDep) -> dict:
    """200 when the service and its database answer."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": session.get_bind().dialect.name}


@router.get("/v1/retailers", response_model=Page[RetailerOut], tags=["master data"])
def get_retailers(session: SessionDep, principal: AnyRole, paging: PageDep,
                  manager_id: ManagerFilter = None,
                  route_id: text_filter("only this delivery route's") = None,
                  status: Annotated[str | None, Query(pattern="^(active|suspended)$")] = None):
    items, nxt = list_retailers(session, principal, paging.cursor, paging.limit, manager_id, route_id, status)
    return {"items": items, "next_cursor": nxt}


@router.get("/v1/retailers/{retailer_id}", response_model=RetailerOut, tags=["master data"])
def get_retailer(retailer_id: RetailerId, session: SessionDep, principal: AnyRole):
    return visible_retailer(session, principal, retailer_id)


@router.get("/v1/brands", response_model=Page[BrandOut], tags=["master data"])
def get_brands(session: SessionDep, principal: AnyRole, paging: PageDep, is_key: bool | None = None):
    items, nxt = list_brands(session, principal, paging.cursor, paging.limit, is_key)
    return {"items": items, "next_cursor": nxt}
