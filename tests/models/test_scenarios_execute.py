"""Executing a scenario: the overrides, a reopen in between fails it with nothing written, a lost one is failed
by the lease sweep like a run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select

from allocation.scenarios import compare, with_overrides
from executor.kinds import SCENARIO
from executor.supervise import execute_here
from models import leases, scenarios
from models.tables import Cap, Cycle, Supply
from models.tables_scenarios import Scenario, ScenarioAllocation
from models.types import utcnow
from tests.worlds.forecasts import Seed, who


def test_overrides_replace_listed_values_and_keep_the_rest():
    supply = pd.DataFrame({"brand_code": ["A", "B"], "quantity": [5, 7]})
    caps = pd.DataFrame({"retailer_id": ["R1", "R2"], "cap": [10, 20], "weight": [1.5, 1.0]})
    s, c = with_overrides(supply, caps, [{"brand_code": "B", "quantity": 0}, {"brand_code": "C", "quantity": 3}],
                          [{"retailer_id": "R1", "cap": 4, "weight": None}, {"retailer_id": "R3", "cap": 9},
                           {"retailer_id": "R2", "cap": 2, "weight": "2.5"}])
    assert list(s.itertuples(index=False, name=None)) == [("A", 5), ("B", 0), ("C", 3)]
    # R1 keeps its weight 1.5; R3 (no cap in the cycle) gets weight 1; R2 takes the weight given
    assert list(c.itertuples(index=False, name=None)) == [("R1", 4, 1.5), ("R2", 2, 2.5), ("R3", 9, 1.0)]


def test_compare_counts_only_lines_with_demand_and_every_spec():
    run = pd.DataFrame({"retailer_id": ["R1", "R1", "R2"], "brand_code": ["A", "B", "A"], "demanded": [4, 2, 0],
                        "allocated": [1, 2, 0], "reason": ["cap", "full", "full"]})
    sc = run.assign(allocated=[4, 1, 0], reason=["full", "supply", "full"])
    got = compare(run, sc)
    # run 3 of 6, scenario 5 of 6: +2, fill +1/3; R1 changed (R2's line has no demand)
    assert got["volume_change"] == 2 and abs(got["fill_ratio_change"] - 1 / 3) < 1e-6
    assert got["short_lines_by_reason"] == {"run": {"no_supply": 0, "cap": 1, "supply": 0},
                                            "scenario": {"no_supply": 0, "cap": 0, "supply": 1}}
    assert got["shortfall_by_spec"] == [{"brand_code": "A", "run": 3, "scenario": 0},
                                        {"brand_code": "B", "run": 0, "scenario": 1}]
    assert got["retailers_changed"] == 1


def closed_world(session, company) -> tuple[Seed, int]:
    s = Seed(session, company.id)
    s.managers({"M1": None})
    s.brands({"A": False})
    s.retailers({"R1": "M1", "R2": "M1"})
    cid = s.cycle("w", date(2025, 3, 3), "closed")
    session.get(Cycle, cid).closed_at = utcnow()
    s.order(cid, "R1", {"A": 5})
    s.order(cid, "R2", {"A": 5})
    session.add(Supply(cycle_id=cid, brand_code="A", company_id=company.id, quantity=6))
    for rid in ("R1", "R2"):
        session.add(Cap(cycle_id=cid, retailer_id=rid, company_id=company.id, cap=10, weight=Decimal(1)))
    session.flush()
    return s, cid


def test_a_scenario_executes_with_its_overrides(session, connection, company):
    seed, cid = closed_world(session, company)
    admin = who(company.id, "admin", user_id=seed.user_id)
    sc = scenarios.start_scenario(session, admin, cid, "x", [("A", 8)], [("R2", 3, None)])
    session.commit()
    assert execute_here(SCENARIO, sc.id, connection, 3600) == "succeeded"
    got = dict(session.execute(select(ScenarioAllocation.retailer_id, ScenarioAllocation.allocated)
                               .where(ScenarioAllocation.scenario_id == sc.id)).all())
    assert got == {"R1": 5, "R2": 3}                       # 8 supplied; R2 held to its scenario cap of 3
    done = session.get(Scenario, sc.id, populate_existing=True)
    assert done.certificate["volume"] == done.certificate["max_volume"] == 8 and done.comparison is None
    assert execute_here(SCENARIO, sc.id, connection, 3600) == "succeeded"   # executed once


def test_reopened_before_it_runs_fails_with_nothing_written(session, connection, company):
    seed, cid = closed_world(session, company)
    sc = scenarios.start_scenario(session, who(company.id, "admin", user_id=seed.user_id), cid, "x", [], [])
    session.get(Cycle, cid).status = "open"
    session.commit()
    assert execute_here(SCENARIO, sc.id, connection, 3600) == "failed"
    failed = session.get(Scenario, sc.id, populate_existing=True)
    assert "reopened" in failed.error and failed.finished_at is not None and failed.totals == {}
    assert session.execute(select(func.count()).select_from(ScenarioAllocation)).scalar() == 0


def test_a_scenario_whose_lease_expired_is_failed_and_never_written(session, connection, company):
    seed, cid = closed_world(session, company)
    sc = scenarios.start_scenario(session, who(company.id, "admin", user_id=seed.user_id), cid, "x", [], [])
    session.commit()
    assert leases.claim(session, Scenario, sc.id, "gone-worker", lease_s=-1)     # claimed, lease already over
    assert leases.fail_expired(session, Scenario) == [sc.id]
    session.commit()
    lost = session.get(Scenario, sc.id, populate_existing=True)
    assert lost.status == "failed" and lost.error_code == leases.EXECUTOR_LOST
    assert scenarios.execute_claimed(connection, sc.id, "gone-worker") == "failed"
    assert session.execute(select(func.count()).select_from(ScenarioAllocation)).scalar() == 0
