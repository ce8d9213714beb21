"""Order, approval, import and audit bodies: strict on the way in, so a phone's bad request is a 422, never a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from allocation.numbers import VERSION_MAX, Whole, whole
from allocation.vocabulary import LINE_MAX, Channel, OrderState
from api.schemas import CleanStr, IdOut, In, Out

Quantity = whole(ge=0, le=LINE_MAX, description=f"whole cartons (条), 0 to {LINE_MAX}")


class OrderLineIn(In):
    brand_code: Annotated[CleanStr, Field(min_length=1, max_length=64, description="a spec from /v1/brands")]
    quantity: Quantity


class OrderIn(In):
    """A retailer's whole order for the cycle, as the retailer stated it; one line per spec."""

    lines: list[OrderLineIn]
    channel: Channel = Field(Channel.RETAILER_STATED, description="`collected`: gathered by the account manager on the "
                                                            "retailer's behalf; needs the market manager's sign-off")


class ApproveIn(In):
    version: Whole = Field(ge=1, le=VERSION_MAX, description="the order version being signed off")


class LineOut(Out):
    brand_code: str
    quantity: int


class OrderWarning(Out):
    code: str
    detail: str
    total: int | None = None
    cap: int | None = None


class OrderOut(Out):
    cycle_id: IdOut
    retailer_id: str
    version: int
    channel: Channel
    lines: list[LineOut]
    total: int
    status: OrderState
    cap: int | None
    warnings: list[OrderWarning]
    submitted_at: datetime
    submitted_by: IdOut
    approved_version: int | None
    approved_by: IdOut | None = None
    approved_at: datetime | None = None


class OrderSummaryOut(Out):
    cycle_id: IdOut
    retailer_id: str
    manager_id: str
    version: int
    channel: Channel
    total: int
    line_count: int
    status: OrderState
    cap: int | None
    above_cap: bool
    submitted_at: datetime
    submitted_by: IdOut
    approved_version: int | None


class OrderVersionOut(Out):
    version: int
    channel: Channel
    lines: list[LineOut]
    total: int
    submitted_by: IdOut
    submitted_at: datetime


class ImportOut(Out):
    cycle_id: IdOut
    orders: int = Field(description="retailers listed in the file")
    created: int
    replaced: int
    unchanged: int
    lines: int = Field(description="lines in the file")
    warnings: int = Field(description="orders above their retailer's cap (kept whole; the allocation applies it)")


class AuditEventOut(Out):
    id: IdOut
    at: datetime
    actor_user_id: IdOut | None
    actor_role: str | None
    action: str
    object_type: str
    object_id: str
    old: Any | None
    new: Any | None
    reason: str | None
