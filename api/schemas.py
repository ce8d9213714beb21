"""Shared request/response pieces: strict input models and the list envelope."""

from __future__ import annotations

import re
from datetime import date, datetime
from numbers import Integral
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from allocation.vocabulary import MarketType, RetailerStatus, SizeClass
from api.params import NO_CONTROL

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


class _StatesNoControl:
    """The schema says what _no_control enforces (a pattern), while the refusal keeps its own plain sentence."""

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema["pattern"] = NO_CONTROL
        return schema


CleanStr = Annotated[str, AfterValidator(_no_control), _StatesNoControl()]


def _text_only(value):
    """A date or a time is ISO 8601 text, as the schema says; pydantic's lax mode also reads a number as one."""
    if isinstance(value, int | float):
        raise PydanticCustomError("date_type", "Input should be ISO 8601 text, not a number")
    return value


IsoDate = Annotated[date, BeforeValidator(_text_only)]
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_text_only)]


def _as_text(value):
    return str(value) if isinstance(value, Integral) and not isinstance(value, bool) else value


# Ids are strings in every answer (CONTRACT.md); the data layer hands over its rows' integer keys as they are.
IdOut = Annotated[str, BeforeValidator(_as_text)]


class In(BaseModel):
    """Base of every request body: unknown fields are refused, strings stay as sent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Out(BaseModel):
    """Base of every answer shaped from the data layer's rows and objects (read by attribute or by key)."""

    model_config = ConfigDict(from_attributes=True)


class PolicyVersionOut(Out):
    """One version of a versioned policy: which rules, since when, set by whom."""

    version: int
    created_at: datetime
    created_by: IdOut | None


def shaped(model: type[BaseModel], value) -> dict:
    """value as the answer `model` gives it, as a plain dict: for console pages, which render what the API shows."""
    return model.model_validate(value).model_dump()


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
