"""Shared request/response pieces: strict input models and the list envelope."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from allocation.vocabulary import MarketType, RetailerStatus, SizeClass

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


CleanStr = Annotated[str, AfterValidator(_no_control)]


class In(BaseModel):
    """Base of every request body: unknown fields are refused, strings stay as sent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PolicyVersionOut(Out):
    """One version of a versioned policy: which rules, since when, set by whom."""

    version: int
    created_at: datetime
    created_by: str | None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class RetailerOut(Out):
    retailer_id: str
    name: str
    manager_id: str
    tier: int
    market_type: MarketType
    business_format: str
    route_id: str
    delivery_weekday: int
    size_class: SizeClass | None = Field(None, description="large/medium/small as loaded; null: from the tier by the cap policy")
    status: RetailerStatus
    order_every_weeks: int


class BrandOut(Out):
    brand_code: str
    name: str
    brand: str
    price_class: int
    wholesale_price: float
    is_key: bool
    is_scarce: bool


class ErrorOut(BaseModel):
    """Every error: a sentence a person can act on, and a code a program can branch on."""

    detail: str
    code: str


ERROR_RESPONSES = {
    401: {"model": ErrorOut, "description": "no valid bearer token (`unauthorized`)"},
    403: {"model": ErrorOut, "description": "this role may never do this (`forbidden`)"},
    404: {"model": ErrorOut, "description": "no such object among those the caller may see (`not_found`, ...)"},
    409: {"model": ErrorOut, "description": "the object's state does not allow this now; the detail says why"},
    413: {"model": ErrorOut, "description": "the body is larger than the service accepts (`too_large`)"},
    422: {"model": ErrorOut, "description": "a malformed request: wrong type, out of range, unknown field, ..."},
    503: {"model": ErrorOut, "description": "SQLite only: the database stayed busy with other writes past the "
                                            "bound (`database_busy`); nothing was written, retry after `Retry-After` "
                                            "seconds", "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                                                  "description": "seconds"}}},
}
