"""Scenarios over HTTP: a small cycle whose run and scenario are worked out by hand, the comparison DOMAIN.md
defines, every refusal, and a scenario's independence from runs (own ids, never published, no run lock).

The cycle (M1 owns R1-R4; specs A, B):
  demand  R1 A 4, B 2;  R2 A 4;  R3 B 6;  R4 B 1        supply A 4, B 8        caps R1 10, R2 10, R3 3, R4 10
  run     A is short (8 wanted, 4 supplied): R1 2, R2 2 (equal fill 2/4, reason supply); B: R1 2, R3 3 (its cap,
          reason cap), R4 1: volume 10 of 17 demanded
  scenario supply A 8, cap R3 6: A full (R1 4, R2 4); B wants 2 + 6 + 1 = 9 of 8: the carton cut is R3's sixth,
          the highest fill (5/6 before it, against R1's 1/2 and R4's 0): R3 5 (reason supply); volume 16
  comparison  volume_change 16 - 10 = 6;  fill_ratio_change 16/17 - 10/17 = 6/17 = 0.352941
              short lines run {no_supply 0, cap 1, supply 2}, scenario {no_supply 0, cap 0, supply 1}
              shortfall A: run 4, scenario 0;  B: run 3, scenario 1
              retailers_changed 3 (R1's A 2 -> 4, R2's A 2 -> 4, R3's B 3 -> 5; R4 unchanged)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from allocation.problem import Problem
from models.tables_runs import AllocationRun
from tests.worlds.oracles import brute_violations, lp_max_volume
from tests.worlds.forecasts import Seed

DEMAND = {"R1": {"A": 4, "B": 2}, "R2": {"A": 4}, "R3": {"B": 6}, "R4": {"B": 1}}
SUPPLY = {"A": 4, "B": 8}
CAPS = {"R1": 10, "R2": 10, "R3": 3, "R4": 10}
OVERRIDE = {"name": "more A, R3 up", "supply": [{"brand_code": "A", "quantity": 8}],
            "caps": [{"retailer_id": "R3", "cap": 6}]}
RUN_ROWS = {("R1", "A"): (4, 2, "supply"), ("R1", "B"): (2, 2, "full"), ("R2", "A"): (4, 2, "supply"),
            ("R3", "B"): (6, 3, "cap"), ("R4", "B"): (1, 1, "full")}
SCENARIO_ROWS = {("R1", "A"): (4, 4, "full"), ("R1", "B"): (2, 2, "full"), ("R2", "A"): (4, 4, "full"),
                 ("R3", "B"): (6, 5, "supply"), ("R4", "B"): (1, 1, "full")}


@pytest.fixture
def shop(session, company, client, auth):
    s = Seed(session, company.id)
    s.managers({"M1": "MM1"})
    s.brands({"A": False, "B": False, "X": False})
    s.retailers({"R1": "M1", "R2": "M1", "R3": "M1", "R4": "M1", "R5": "M1"})
    session.commit()
    return {"admin": auth("admin"), "auditor": auth("auditor"), "am": auth("account_manager", "M1"), "seed": s}


def open_cycle(client, h, name="2025-W10", start="2025-03-03") -> str:
    end = (datetime.fromisoformat(start) + timedelta(days=6)).date().isoformat()
    cid = client.post("/v1/cycles", json={"name": name, "start_date": start, "end_date": end},
                      headers=h["admin"]).json()["id"]
    client.put(f"/v1/cycles/{cid}/supply", json=[{"brand_code": b, "quantity": q} for b, q in SUPPLY.items()],
               headers=h["admin"])
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": r, "cap": c} for r, c in CAPS.items()],
               headers=h["admin"])
    for rid, lines in DEMAND.items():
        r = client.put(f"/v1/cycles/{cid}/orders/{rid}", headers=h["am"],
                       json={"lines": [{"brand_code": b, "quantity": q} for b, q in lines.items()]})
        assert r.status_code in (200, 201), r.text
    return cid


def closed_cycle(client, h, **kw) -> str:
    cid = open_cycle(client, h, **kw)
    assert client.post(f"/v1/cycles/{cid}/close", headers=h["admin"]).status_code == 200
    return cid


def run(client, h, cid) -> str:
    rid = client.post(f"/v1/cycles/{cid}/allocation-runs", headers=h["admin"]).json()["run_id"]
    assert client.get(f"/v1/allocation-runs/{rid}", headers=h["admin"]).json()["status"] == "succeeded"
    return rid


def scenario(client, h, cid, body=OVERRIDE) -> dict:
    r = client.post(f"/v1/cycles/{cid}/scenarios", json=body, headers=h["admin"])
    assert r.status_code == 202, r.text
    sid = r.json()["scenario_id"]
    assert r.headers["location"] == f"/v1/scenarios/{sid}" and sid.startswith("S")
    return client.get(f"/v1/scenarios/{sid}", headers=h["auditor"]).json()


def rows(client, h, path, **params) -> dict:
    items = client.get(path, params={"limit": 1000, **params}, headers=h["admin"]).json()["items"]
    return {(x["retailer_id"], x["brand_code"]): x for x in items}


def test_scenario_and_its_comparison_by_hand(client, shop):
    cid = closed_cycle(client, shop)
    rid = run(client, shop, cid)
    assert {k: (x["demanded"], x["allocated"], x["reason"])
            for k, x in rows(client, shop, f"/v1/allocation-runs/{rid}/allocations").items()} == RUN_ROWS
    sc = scenario(client, shop, cid)
    assert sc["status"] == "succeeded" and sc["cycle_id"] == cid and sc["name"] == "more A, R3 up"
    assert sc["certificate"]["volume"] == sc["certificate"]["max_volume"] == 16
    assert sc["certificate"]["fairness_violations"] == 0
    assert sc["totals"]["allocated"] == 16 and sc["totals"]["demanded"] == 17
    assert sc["supply"] == OVERRIDE["supply"] and sc["caps"] == [{"retailer_id": "R3", "cap": 6, "weight": None}]
    got = rows(client, shop, f"/v1/scenarios/{sc['id']}/allocations")
    assert {k: (x["demanded"], x["allocated"], x["reason"]) for k, x in got.items()} == SCENARIO_ROWS
    assert {k: x["run_allocated"] for k, x in got.items()} == {k: v[1] for k, v in RUN_ROWS.items()}
    assert sc["compared_run_id"] == rid
    assert sc["comparison"] == {
        "volume_change": 6, "fill_ratio_change": pytest.approx(6 / 17, abs=1e-6),
        "short_lines_by_reason": {"run": {"no_supply": 0, "cap": 1, "supply": 2},
                                  "scenario": {"no_supply": 0, "cap": 0, "supply": 1}},
        "shortfall_by_spec": [{"brand_code": "A", "run": 4, "scenario": 0},
                              {"brand_code": "B", "run": 3, "scenario": 1}],
        "retailers_changed": 3}
    changed = rows(client, shop, f"/v1/scenarios/{sc['id']}/allocations", changed="true")
    assert {k: (x["run_allocated"], x["allocated"]) for k, x in changed.items()} == {
        ("R1", "A"): (2, 4), ("R2", "A"): (2, 4), ("R3", "B"): (3, 5)}
    # fill ratio buckets: 0, 0-10 %, ..., 90-100 %, 100 %; run: 2/4 twice (50-60 %), 3/6 (50-60 %), full twice;
    # scenario: 5/6 (80-90 %), full four times
    fill = client.get(f"/v1/scenarios/{sc['id']}/fill-ratios", headers=shop["auditor"]).json()
    assert fill["run"] == [0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2] and fill["compared_run_id"] == rid
    assert fill["scenario"] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4] and len(fill["buckets"]) == 12
    listed = client.get(f"/v1/cycles/{cid}/scenarios", headers=shop["auditor"]).json()
    assert [x["id"] for x in listed["items"]] == [sc["id"]] and listed["items"][0]["comparison"] == sc["comparison"]


def test_scenario_volume_is_the_lp_maximum_of_the_modified_instance_and_fair(client, shop):
    cid = closed_cycle(client, shop)
    body = {"name": "tight", "supply": [{"brand_code": "A", "quantity": 5}, {"brand_code": "B", "quantity": 4}],
            "caps": [{"retailer_id": "R1", "cap": 3, "weight": 2}, {"retailer_id": "R4", "cap": 0}]}
    sc = scenario(client, shop, cid, body)
    # the modified instance written out independently of the service's override code
    demand = pd.DataFrame([(r, b, q) for r, ls in DEMAND.items() for b, q in ls.items()],
                          columns=["retailer_id", "brand_code", "quantity"])
    supply = pd.DataFrame({"brand_code": ["A", "B"], "quantity": [5, 4]})
    caps = pd.DataFrame({"retailer_id": ["R1", "R2", "R3", "R4"], "cap": [3, 10, 3, 0], "weight": [2.0, 1, 1, 1]})
    problem = Problem.from_frames(demand, supply, caps)
    best = lp_max_volume(problem)
    assert sc["certificate"]["volume"] == sc["totals"]["allocated"] == best
    assert sc["certificate"]["fairness_violations"] == 0
    got = rows(client, shop, f"/v1/scenarios/{sc['id']}/allocations")
    lines = [(problem.retailer_ids[r], problem.brand_codes[b])
             for r, b in zip(problem.line_retailer.tolist(), problem.line_spec.tolist())]
    x = [got[k]["allocated"] for k in lines]
    assert sum(x) == best
    assert brute_violations(problem, x) == {"between_retailers": 0, "within_retailer": 0}
    assert sc["comparison"] is None                      # no run of this cycle yet


def test_sample_city_scenario_against_the_lp(client, auth, sample, session):
    """The committed sample's cycle, closed, with a third of every spec's supply and every cap cut by half."""
    from tests.worlds.sample import fill_cycle, sample_rows
    from tests.conftest import SAMPLE

    admin = auth("admin")
    cid = client.post("/v1/cycles", json={"name": "sample", "start_date": "2026-11-16", "end_date": "2026-11-22"},
                      headers=admin).json()["id"]
    fill_cycle(client, admin, cid, (SAMPLE / "demand.csv").read_text(encoding="utf-8"))
    assert client.post(f"/v1/cycles/{cid}/close", headers=admin).status_code == 200
    supply = {r["brand_code"]: int(r["quantity"]) // 3 for r in sample_rows("supply")}
    caps = {r["retailer_id"]: int(r["cap"]) // 2 for r in sample_rows("caps")}
    body = {"name": "lean", "supply": [{"brand_code": b, "quantity": q} for b, q in supply.items()],
            "caps": [{"retailer_id": r, "cap": c} for r, c in caps.items()]}
    r = client.post(f"/v1/cycles/{cid}/scenarios", json=body, headers=admin)
    sc = client.get(f"/v1/scenarios/{r.json()['scenario_id']}", headers=admin).json()
    assert sc["status"] == "succeeded", sc["error"]
    # demand as the run counts it: retailer-stated orders (the sample's collected ones are not approved here)
    demand = pd.read_csv(SAMPLE / "demand.csv", dtype={"retailer_id": str, "brand_code": str})
    demand = demand[demand["channel"] == "retailer_stated"][["retailer_id", "brand_code", "quantity"]]
    problem = Problem.from_frames(demand, pd.DataFrame({"brand_code": list(supply), "quantity": list(supply.values())}),
                                  pd.DataFrame({"retailer_id": list(caps), "cap": list(caps.values())}))
    assert sc["certificate"]["volume"] == sc["certificate"]["max_volume"] == lp_max_volume(problem)
    assert sc["certificate"]["fairness_violations"] == 0 and sc["totals"]["lines"] == len(demand)


def test_refusals(client, shop):
    h, cid = shop, closed_cycle(client, shop)
    url = f"/v1/cycles/{cid}/scenarios"
    for body, code in [
        ({"name": "x", "supply": [{"brand_code": "NOPE", "quantity": 1}]}, "unknown_spec"),
        ({"name": "x", "caps": [{"retailer_id": "R9", "cap": 1}]}, "unknown_retailer"),
        ({"name": "x", "supply": [{"brand_code": "A", "quantity": 1}, {"brand_code": "A", "quantity": 2}]},
         "duplicate_line"),
        ({"name": "x", "caps": [{"retailer_id": "R1", "cap": 1}, {"retailer_id": "R1", "cap": 2}]}, "duplicate_line"),
        ({"name": "x", "supply": [{"brand_code": "A", "quantity": -1}]}, "invalid_request"),
        ({"name": "x", "caps": [{"retailer_id": "R1", "cap": -5}]}, "invalid_request"),
        ({"supply": []}, "invalid_request"),
        ({"name": "x", "publish": True}, "invalid_request"),
    ]:
        r = client.post(url, json=body, headers=h["admin"])
        assert r.status_code == 422 and r.json()["code"] == code, (body, r.text)
    for field in ("floor", "min_quantity", "minimum", "brand_code"):
        r = client.post(url, json={"name": "x", "caps": [{"retailer_id": "R1", "cap": 5, field: 1}]},
                        headers=h["admin"])
        assert r.status_code == 422 and r.json()["code"] == "floor_or_quota_refused", r.text
        assert "总量浮动管理" in r.json()["detail"]
    # 422 comes before 404, 404 before 409
    assert client.post("/v1/cycles/999999/scenarios", json={"name": "x", "supply": [{"brand_code": "NOPE",
                                                                                     "quantity": 1}]},
                       headers=h["admin"]).status_code == 422
    assert client.post("/v1/cycles/999999/scenarios", json={"name": "x"}, headers=h["admin"]).status_code == 404
    open_id = open_cycle(client, h, name="2025-W11", start="2025-03-10")
    planned = client.post("/v1/cycles", json={"name": "later", "start_date": "2025-04-07", "end_date": "2025-04-13",
                                              "opens_at": (datetime.now(UTC) + timedelta(days=9)).isoformat()},
                          headers=h["admin"]).json()["id"]
    for other in (open_id, planned):
        r = client.post(f"/v1/cycles/{other}/scenarios", json={"name": "x"}, headers=h["admin"])
        assert r.status_code == 409 and r.json()["code"] == "cycle_state", r.text
    assert client.post(url, json={"name": "x"}, headers=h["auditor"]).status_code == 403
    assert client.post(url, json={"name": "x"}, headers=h["am"]).status_code == 403
    assert client.get("/v1/scenarios/S999999", headers=h["admin"]).status_code == 404
    assert client.get("/v1/scenarios/12", headers=h["admin"]).status_code == 404


def test_own_ids_never_published_and_no_run_lock(client, shop, session):
    h, cid = shop, closed_cycle(client, shop)
    # a run queued (as if a worker had not picked it up yet): runs wait, scenarios do not
    seed = h["seed"]
    session.add(AllocationRun(company_id=seed.company_id, cycle_id=int(cid), status="queued", created_by=seed.user_id))
    session.commit()
    refused = client.post(f"/v1/cycles/{cid}/allocation-runs", headers=h["admin"])
    assert refused.status_code == 409 and refused.json()["code"] == "run_in_progress"
    sc = scenario(client, h, cid)
    assert sc["status"] == "succeeded"
    assert scenario(client, h, cid)["status"] == "succeeded"                  # and another beside it
    sid = sc["id"]
    for method, path in [("GET", f"/v1/allocation-runs/{sid}"), ("GET", f"/v1/allocation-runs/{sid}/allocations"),
                         ("POST", f"/v1/allocation-runs/{sid}/publish"), ("POST", f"/v1/scenarios/{sid}/publish")]:
        assert client.request(method, path, headers=h["admin"]).status_code in (404, 405), path
    assert client.get(f"/v1/cycles/{cid}", headers=h["admin"]).json()["status"] == "closed"
    runs = client.get(f"/v1/cycles/{cid}/allocation-runs", headers=h["admin"]).json()["items"]
    assert [r["status"] for r in runs] == ["queued"]                          # no run was made by the scenarios


def test_comparison_follows_the_run_of_the_same_close(client, shop):
    h, cid = shop, closed_cycle(client, shop)
    sc = scenario(client, h, cid)
    assert sc["comparison"] is None
    changed = client.get(f"/v1/scenarios/{sc['id']}/allocations", params={"changed": "true"}, headers=h["admin"])
    assert changed.status_code == 409 and changed.json()["code"] == "no_comparison"
    first = run(client, h, cid)
    assert client.get(f"/v1/scenarios/{sc['id']}", headers=h["admin"]).json()["compared_run_id"] == first
    second = run(client, h, cid)                                              # the latest succeeded run
    assert client.get(f"/v1/scenarios/{sc['id']}", headers=h["admin"]).json()["compared_run_id"] == second
    # reopened and closed again: the new close's runs allocate other demand, the scenario keeps its own close's
    assert client.post(f"/v1/cycles/{cid}/reopen", headers=h["admin"]).status_code == 200
    assert client.put(f"/v1/cycles/{cid}/orders/R5", json={"lines": [{"brand_code": "A", "quantity": 3}]},
                      headers=h["am"]).status_code in (200, 201)
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "R5", "cap": 9}], headers=h["admin"])
    assert client.post(f"/v1/cycles/{cid}/close", headers=h["admin"]).status_code == 200
    third = run(client, h, cid)
    assert client.get(f"/v1/scenarios/{sc['id']}", headers=h["admin"]).json()["compared_run_id"] == second
    later = scenario(client, h, cid)
    assert later["compared_run_id"] == third and later["totals"]["lines"] == 6
    assert client.post(f"/v1/allocation-runs/{third}/publish", headers=h["admin"]).status_code == 200
    # on a published cycle: compared with the published run, even after a later scenario
    fourth_try = client.post(f"/v1/cycles/{cid}/allocation-runs", headers=h["admin"])
    assert fourth_try.status_code == 409
    again = scenario(client, h, cid)
    assert again["compared_run_id"] == third and again["comparison"]["volume_change"] >= 0
