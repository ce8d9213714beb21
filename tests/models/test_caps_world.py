"""The caps world holds what the cap tests' hand-worked oracles assume."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models.tables import History, Retailer
from tests.worlds.caps import W49, W50, World, build_world


@pytest.fixture
def world(session, company) -> World:
    return build_world(session, company.id)


def test_world_holds_what_the_oracles_assume(session, world):
    totals = dict(session.execute(select(History.retailer_id, func.sum(History.quantity))
                                  .group_by(History.retailer_id)).all())
    assert totals == {"r1": 120, "r3": 24, "r4": 84}
    assert session.execute(select(func.count()).select_from(Retailer)
                           .where(Retailer.company_id == world.company_id, Retailer.status == "active")).scalar() == 5
    assert W50[0].isocalendar()[:2] == (2026, 50) and W49[0].isocalendar()[:2] == (2026, 49)
    assert date.fromisocalendar(2026, 38, 1) == W50[0] - timedelta(weeks=12)
