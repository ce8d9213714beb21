"""Forecast storage and the actual-demand query, checked against hand counts and an independent recount."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from allocation.accuracy import score_cells, score_managers
from models.accuracy import AccuracyQuery, actual_frame, forecast_frame, refresh_snapshots, score
from models.errors import Conflict, Invalid, NotFound
from models.forecasts import get_forecast, replace_forecast
from models.tables import Retailer
from models.tables_demand import DemandSnapshot, DemandSnapshotLine, Forecast, ForecastVersion, OrderLine
from tests.worlds.forecasts import Seed, as_dict, who


@pytest.fixture
def seed(session, company) -> Seed:
    s = Seed(session, company.id)
    s.managers({"M1": "MM1", "M2": "MM1"})
    s.brands({"K": True, "A": False, "B": False})
    s.retailers({"R1": "M1", "R2": "M1", "R3": "M2", "R4": "M2", "R5": "M2"})
    return s


def test_actual_counts_stated_and_approved_collected_orders_only(seed):
    c = seed.cycle("w1", date(2025, 3, 3))
    seed.order(c, "R1", {"K": 10, "A": 5})                                          # stated: counts
    seed.order(c, "R2", {"K": 4}, "collected", version=2, approved_version=2)      # approved current: counts
    seed.order(c, "R3", {"K": 6, "A": 2})                                           # stated: counts
    seed.order(c, "R4", {"A": 50}, "collected", version=2, approved_version=1)     # stale approval: never
    seed.order(c, "R5", {"B": 7}, "collected")                                      # never approved: never
    got = actual_frame(seed.session, seed.company_id, [c])
    # M1: K 10 + 4 = 14, A 5; M2: K 6, A 2 (R4's 50 and R5's 7 left out)
    assert as_dict(got) == {("M1", "K"): 14, ("M1", "A"): 5, ("M2", "K"): 6, ("M2", "A"): 2}
    assert set(got["period"]) == {str(c)}
    assert as_dict(actual_frame(seed.session, seed.company_id, [c], ["K"])) == {("M1", "K"): 14, ("M2", "K"): 6}


def test_actual_follows_the_retailers_current_manager(seed):
    c = seed.cycle("w1", date(2025, 3, 3))
    seed.order(c, "R3", {"A": 3})
    seed.session.get(Retailer, (seed.company_id, "R3")).manager_id = "M1"
    seed.session.flush()
    assert as_dict(actual_frame(seed.session, seed.company_id, [c])) == {("M1", "A"): 3}


def test_other_cycles_and_companies_are_not_mixed_in(seed, session):
    c1, c2 = seed.cycle("w1", date(2025, 3, 3)), seed.cycle("w2", date(2025, 3, 10))
    seed.order(c1, "R1", {"A": 1})
    seed.order(c2, "R1", {"A": 9})
    seed.forecast(c2, "M1", {"A": 4})
    assert as_dict(actual_frame(session, seed.company_id, [c1])) == {("M1", "A"): 1}
    assert forecast_frame(session, seed.company_id, [c1]).empty
    assert as_dict(forecast_frame(session, seed.company_id, [c2])) == {("M1", "A"): 4}
    assert actual_frame(session, seed.company_id + 1000, [c1, c2]).empty


@pytest.mark.parametrize("rng_seed, status", [(1, "closed"), (2, "closed"), (3, "published"), (4, "published")])
def test_scores_match_an_independent_recount(seed, session, rng_seed, status):
    """Random orders of every kind: the query (live or snapshot) + scoring equals a plain-Python recount."""
    rng = np.random.default_rng(rng_seed)
    c = seed.cycle("w1", date(2025, 3, 3), status)
    expected: dict[tuple[str, str], int] = {}
    owners = {"R1": "M1", "R2": "M1", "R3": "M2", "R4": "M2", "R5": "M2"}
    for rid, mid in owners.items():
        if rng.random() < 0.2:
            continue                                        # no order: no demand
        lines = {b: int(rng.integers(0, 30)) for b in "KAB" if rng.random() < 0.7}
        channel = "collected" if rng.random() < 0.5 else "retailer_stated"
        version = int(rng.integers(1, 4))
        approved = int(rng.integers(1, version + 1)) if channel == "collected" and rng.random() < 0.7 else None
        seed.order(c, rid, lines, channel, version, approved)
        if channel == "retailer_stated" or approved == version:
            for b, q in lines.items():
                expected[(mid, b)] = expected.get((mid, b), 0) + q
    forecasts = {m: {b: int(rng.integers(0, 30)) for b in "KAB" if rng.random() < 0.6} for m in ("M1", "M2")}
    for m, lines in forecasts.items():
        if lines:
            seed.forecast(c, m, lines)
    assert as_dict(actual_frame(session, seed.company_id, [c])) == expected
    assert as_dict(actual_frame(session, seed.company_id, [c], snapshots=False)) == expected
    f = pd.DataFrame([(m, str(c), b, q) for m, ls in forecasts.items() for b, q in ls.items()],
                     columns=["manager_id", "period", "brand_code", "quantity"])
    a = pd.DataFrame([(m, str(c), b, q) for (m, b), q in expected.items()],
                     columns=["manager_id", "period", "brand_code", "quantity"])
    want = score_managers(score_cells(f, a), {"K"})
    got = score(session, who(seed.company_id, "auditor"), AccuracyQuery(cycle_id=str(c))).rows
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)


def test_published_cycles_are_snapshotted_and_rebuilt_when_a_retailer_moves(seed, session):
    c = seed.cycle("w1", date(2025, 3, 3), "published")
    seed.brands({'中华(硬),"1"': True})                      # a code that needs quoting in CSV
    seed.order(c, "R1", {"K": 10, '中华(硬),"1"': 2})
    seed.order(c, "R3", {"K": 6})
    want = {("M1", "K"): 10, ("M1", '中华(硬),"1"'): 2, ("M2", "K"): 6}
    assert as_dict(actual_frame(session, seed.company_id, [c])) == want
    stored = session.execute(select(DemandSnapshotLine.manager_id, DemandSnapshotLine.brand_code,
                                    DemandSnapshotLine.quantity)).all()
    assert {(m, b): q for m, b, q in stored} == want
    assert refresh_snapshots(session, seed.company_id, [c]) == []            # fresh: nothing rebuilt
    built = session.get(DemandSnapshot, c).built_at
    seed.session.get(Retailer, (seed.company_id, "R3")).manager_id = "M1"
    session.flush()
    assert as_dict(actual_frame(session, seed.company_id, [c])) == {("M1", "K"): 16, ("M1", '中华(硬),"1"'): 2}
    assert session.get(DemandSnapshot, c, populate_existing=True).built_at > built    # rebuilt, not reused
    assert as_dict(actual_frame(session, seed.company_id, [c], ["K"])) == {("M1", "K"): 16}


def test_closed_cycles_are_never_snapshotted(seed, session):
    c = seed.cycle("w1", date(2025, 3, 3), "closed")
    seed.order(c, "R1", {"K": 1})
    assert as_dict(actual_frame(session, seed.company_id, [c])) == {("M1", "K"): 1}
    assert session.execute(select(DemandSnapshot)).first() is None
    # reopened and changed: a closed cycle is always counted from its current orders
    session.get(OrderLine, (c, "R1", "K")).quantity = 4
    session.flush()
    assert as_dict(actual_frame(session, seed.company_id, [c])) == {("M1", "K"): 4}


def test_replace_forecast_keeps_versions_and_current_rows(seed, session):
    c = seed.cycle("w9", date(2025, 5, 5), status="planned", opens_in_days=3)
    me = who(seed.company_id, "account_manager", "M1", seed.user_id)
    first = replace_forecast(session, me, str(c), "M1", [{"brand_code": "K", "quantity": 5},
                                                         {"brand_code": "A", "quantity": 2}])
    assert (first["version"], first["total"]) == (1, 7)
    assert [x["brand_code"] for x in first["lines"]] == ["A", "K"]
    again = replace_forecast(session, me, str(c), "M1", [{"brand_code": "A", "quantity": 2},
                                                         {"brand_code": "K", "quantity": 5}])
    assert again["version"] == 1 and again["submitted_at"] == first["submitted_at"]
    second = replace_forecast(session, me, str(c), "M1", [{"brand_code": "B", "quantity": 0}])
    assert second["version"] == 2
    rows = session.execute(select(Forecast.brand_code, Forecast.quantity, Forecast.version)
                           .where(Forecast.cycle_id == c)).all()
    assert [tuple(r) for r in rows] == [("B", 0, 2)]
    empty = replace_forecast(session, me, str(c), "M1", [])
    assert empty["version"] == 3 and empty["lines"] == [] and empty["total"] == 0
    assert session.execute(select(Forecast).where(Forecast.cycle_id == c)).first() is None
    assert get_forecast(session, me, str(c), "M1", 1)["lines"] == first["lines"]


def test_replace_forecast_refusals(seed, session):
    planned = seed.cycle("w9", date(2025, 5, 5), status="planned", opens_in_days=3)
    opened = seed.cycle("w8", date(2025, 4, 28), status="planned", opens_in_days=-1)
    me = who(seed.company_id, "account_manager", "M1", seed.user_id)
    with pytest.raises(Invalid) as bad:
        replace_forecast(session, me, str(planned), "M1", [{"brand_code": "ZZ", "quantity": 1}])
    assert bad.value.code == "unknown_brand"
    with pytest.raises(NotFound):
        replace_forecast(session, me, str(planned), "M2", [{"brand_code": "K", "quantity": 1}])
    with pytest.raises(Conflict) as late:
        replace_forecast(session, me, str(opened), "M1", [{"brand_code": "K", "quantity": 1}])
    assert late.value.code == "cycle_state" and "forecasts close when orders open" in late.value.detail
    assert session.execute(select(ForecastVersion)).first() is None
