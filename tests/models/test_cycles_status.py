"""The status a caller sees is one rule, in Python and in SQL: planned with opens_at passed reads open."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from allocation.vocabulary import CycleState
from models.cycles import cycle_status, cycle_status_sql
from models.tables import Cycle

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
# (stored status, opens_at relative to now) -> the status callers see
CASES = [
    (CycleState.PLANNED, timedelta(hours=1), CycleState.PLANNED),
    (CycleState.PLANNED, timedelta(0), CycleState.OPEN),
    (CycleState.PLANNED, -timedelta(days=2), CycleState.OPEN),
    (CycleState.OPEN, -timedelta(days=2), CycleState.OPEN),
    (CycleState.CLOSED, -timedelta(days=2), CycleState.CLOSED),
    (CycleState.PUBLISHED, -timedelta(days=2), CycleState.PUBLISHED),
]


def test_sql_and_python_status_agree_with_the_rule(session, company):
    cycles = []
    for i, (stored, offset, _) in enumerate(CASES):
        cycle = Cycle(company_id=company.id, name=f"c{i}", start_date=date(2026, 11, 23), end_date=date(2026, 11, 29),
                      opens_at=NOW + offset, status=stored)
        session.add(cycle)
        cycles.append(cycle)
    session.flush()
    got = dict(session.execute(select(Cycle.id, cycle_status_sql(NOW)).where(Cycle.company_id == company.id)).all())
    for cycle, (_, _, expected) in zip(cycles, CASES):
        assert cycle_status(cycle, NOW) == expected
        assert got[cycle.id] == expected


def test_open_cycles_are_found_whether_opened_by_time_or_by_reopen(session, company):
    for name, stored, offset in (("by-time", CycleState.PLANNED, -timedelta(hours=1)),
                                 ("reopened", CycleState.OPEN, -timedelta(days=1)),
                                 ("later", CycleState.PLANNED, timedelta(hours=1))):
        session.add(Cycle(company_id=company.id, name=name, start_date=date(2026, 11, 23),
                          end_date=date(2026, 11, 29), opens_at=NOW + offset, status=stored))
    session.flush()
    found = session.execute(select(Cycle.name).where(Cycle.company_id == company.id,
                                                     cycle_status_sql(NOW) == CycleState.OPEN)
                            .order_by(Cycle.name)).scalars().all()
    assert found == ["by-time", "reopened"]
