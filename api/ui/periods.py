"""The period filter the report pages share (accuracy, compliance): one final cycle, by default the latest
published one, or the final cycles of a month or a quarter."""

from __future__ import annotations

import calendar
import re
from datetime import date

from allocation.vocabulary import CycleState
from models.cycles import ReportQuery
from models.errors import Invalid
from models.tables import Cycle


def period_range(period: str) -> tuple[date, date]:
    """'2026-11' (a month) or '2026-Q4' (a quarter) as the first and last day of it."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        year, q = int(m[1]), int(m[2])
        last = 3 * q
        return date(year, last - 2, 1), date(year, last, calendar.monthrange(year, last)[1])
    raise Invalid(f"period {period!r}: give a month as 2026-11 or a quarter as 2026-Q4", "invalid_request")


def report_query(final: list[Cycle], cycle_id: str | None, period: str | None, kind: type[ReportQuery] = ReportQuery,
                 **kw) -> ReportQuery:
    """The chosen cycle or period; by default the latest published cycle (its orders are final), else closed."""
    if period:
        start, end = period_range(period)
        return kind(date_from=start, date_to=end, **kw)
    default = next((c for c in final if c.status == CycleState.PUBLISHED), final[0])
    return kind(cycle_id=cycle_id or str(default.id), **kw)


def choices(final: list[Cycle]) -> dict[str, list[str]]:
    """The months and quarters that hold a final cycle, newest first, for the filter's list."""
    return {"months": sorted({c.start_date.strftime("%Y-%m") for c in final}, reverse=True),
            "quarters": sorted({f"{c.start_date.year}-Q{(c.start_date.month - 1) // 3 + 1}" for c in final},
                               reverse=True)}
