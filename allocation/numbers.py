"""Numbers in request bodies exactly as the schema states them: an integer is any whole JSON number, never a bool."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from allocation.vocabulary import TIER_MAX, TIER_MIN

VERSION_MAX = 2**31 - 1  # a stored version or row number: the databases' 32-bit integer
TIER_KEY = "^(" + "|".join(str(t) for t in range(TIER_MAX, TIER_MIN - 1, -1)) + ")$"  # an object keyed by tier 1-30
# json_schema_extra: what a validator checks that Field cannot (pydantic's float multiple_of has no tolerance)
CENTS = {"multipleOf": 0.01}  # at most 2 decimals
FOUR_DECIMALS = {"multipleOf": 0.0001}
TierKeyed = {"propertyNames": {"pattern": TIER_KEY}}  # json_schema_extra of a dict keyed by tier


def _whole(value):
    """JSON Schema's `integer`: 3 and 3.0 alike; true, "3" and 3.5 are not integers (pydantic's lax mode takes them)."""
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "Input should be a valid integer, got a number with a "
                                                        "fractional part")
        return int(value)
    return value


def _number(value):
    """JSON Schema's `number`: neither a bool nor a numeric string."""
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


Whole = Annotated[int, BeforeValidator(_whole)]  # bounds go in the field's Field(...): `x: Whole = Field(ge=0)`
Number = Annotated[float, BeforeValidator(_number)]


def whole(**constraints):
    """Whole with bounds (Field arguments), for places a Field cannot be the default: list items, dict values."""
    return Annotated[int, Field(**constraints), BeforeValidator(_whole)]


def number(**constraints):
    """Number with bounds (Field arguments), for list items and dict values."""
    return Annotated[float, Field(**constraints), BeforeValidator(_number)]
