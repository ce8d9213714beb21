"""The supply plan over HTTP against a small city computed by hand; the supply policy and availability routes.

Specs A (class 1), C (class 4), D (class 5), E (class 2). M1 owns R1, R2; M2 owns R3 and R5 (suspended);
M3 owns only R4 (suspended), so M3 is not a part. The plan is for cycle P starting 2025-03-24 (2025-W13);
with `weeks` 3 the window is W10, W11, W12.

  W10  cycle C0 is open (does not cover the week): history counts: R1 A 3, R3 C 5 (R4 A 9, R5 C 40: suspended)
  W11  cycle C1 is closed: R1 stated A 6; R3 collected C 4 approved (counts); R2 collected C 50 unapproved (not);
       history R1 A 70 for W11 is ignored (the cycle covers the week)
  W12  no cycle: history written as a date, 2025-03-17: R2 A 2, R3 D 7

  projections  M1 A (3 + 6 + 2) / 3 = 3.67 -> 4;   M2 C (5 + 4 + 0) / 3 = 3;   M2 D 7 / 3 = 2.33 -> 2
  no forecast  basis history: A 4 -> 4;  C 3 × 95 // 100 = 2;  D 2 × 95 // 100 = 1
  availability A 3, E 10: A proposed 3; E listed with D̂ 0, proposed 0
  M2 forecasts C 10 (no D line): parts M1 A 4 (projection), M2 C 10, D 0 -> basis mixed; C 10 -> 9; D gone
  M1 forecasts nothing (an empty forecast): every part is a forecast -> basis forecast; A D̂ 0 (still listed: availability)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models.load import load_dir
from models.tables import Brand, History, Retailer
from models.tables_supply import ProjectionLine
from tests.worlds.forecasts import Seed

ROWS = ["brand_code", "price_class", "projected_demand", "basis", "factor", "available", "proposed"]


@pytest.fixture
def city(session, company):
    s = Seed(session, company.id)
    s.managers({"M1": "MM1", "M2": "MM1", "M3": "MM1"})
    s.brands({"A": True, "C": False, "D": False, "E": False})
    for code, price_class in {"A": 1, "C": 4, "D": 5, "E": 2}.items():
        session.get(Brand, (company.id, code)).price_class = price_class
    s.retailers({"R1": "M1", "R2": "M1", "R3": "M2", "R4": "M3", "R5": "M2"})
    for rid in ("R4", "R5"):
        session.get(Retailer, (company.id, rid)).status = "suspended"
    c0 = s.cycle("2025-W10", date(2025, 3, 3), "open")
    s.order(c0, "R1", {"A": 100})
    c1 = s.cycle("2025-W11", date(2025, 3, 10), "closed")
    s.order(c1, "R1", {"A": 6})
    s.order(c1, "R3", {"C": 4}, "collected", approved_version=1)
    s.order(c1, "R2", {"C": 50}, "collected")
    for period, rid, code, q in [("2025-W10", "R1", "A", 3), ("2025-W10", "R3", "C", 5), ("2025-W10", "R4", "A", 9),
                                 ("2025-W10", "R5", "C", 40), ("2025-W11", "R1", "A", 70),
                                 ("2025-03-17", "R2", "A", 2), ("2025-03-17", "R3", "D", 7)]:
        session.add(History(company_id=company.id, period=period, retailer_id=rid, brand_code=code, quantity=q))
    session.commit()
    return {"c1": str(c1)}


def plan_cycle(client, admin) -> str:
    opens = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    r = client.post("/v1/cycles", json={"name": "2025-W13", "start_date": "2025-03-24", "end_date": "2025-03-30",
                                        "opens_at": opens}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def table(body) -> list[tuple]:
    return [tuple(x[k] for k in ROWS) for x in body["items"]]


def test_the_plan_by_hand(client, auth, city):
    admin = auth("admin")
    pid = plan_cycle(client, admin)
    assert client.put("/v1/supply-policy", json={"weeks": 3}, headers=admin).status_code == 200
    url = f"/v1/cycles/{pid}/supply-plan"
    body = client.get(url, headers=auth("auditor")).json()
    assert body["weeks"] == ["2025-W10", "2025-W11", "2025-W12"] and body["policy_version"] == 2
    assert (body["managers"], body["forecasters"]) == (2, 0)
    assert table(body) == [("A", 1, 4, "history", 1.0, None, 4), ("C", 4, 3, "history", 0.95, None, 2),
                           ("D", 5, 2, "history", 0.95, None, 1)]

    r = client.put(f"/v1/cycles/{pid}/availability", headers=admin,
                   json=[{"brand_code": "A", "quantity": 3}, {"brand_code": "E", "quantity": 10}])
    assert r.status_code == 200 and r.json() == {"cycle_id": pid, "specs": 2, "total": 13}
    body = client.get(url, headers=admin).json()
    assert table(body) == [("A", 1, 4, "history", 1.0, 3, 3), ("C", 4, 3, "history", 0.95, None, 2),
                           ("D", 5, 2, "history", 0.95, None, 1), ("E", 2, 0, "history", 1.0, 10, 0)]
    assert body["totals"]["proposed"] == 6 and body["totals"]["by_price_class"]["4"] == {"projected_demand": 3,
                                                                                          "proposed": 2}

    m2 = auth("account_manager", "M2")
    assert client.put(f"/v1/cycles/{pid}/forecasts/M2", json={"lines": [{"brand_code": "C", "quantity": 10}]},
                      headers=m2).status_code == 200
    body = client.get(url, headers=admin).json()
    assert (body["managers"], body["forecasters"]) == (2, 1)
    assert table(body) == [("A", 1, 4, "mixed", 1.0, 3, 3), ("C", 4, 10, "mixed", 0.95, None, 9),
                           ("E", 2, 0, "mixed", 1.0, 10, 0)]

    m1 = auth("account_manager", "M1")
    assert client.put(f"/v1/cycles/{pid}/forecasts/M1", json={"lines": []}, headers=m1).status_code == 200
    assert table(client.get(url, headers=admin).json()) == [
        ("A", 1, 0, "forecast", 1.0, 3, 0), ("C", 4, 10, "forecast", 0.95, None, 9), ("E", 2, 0, "forecast", 1.0, 10, 0)]

    csv = client.get(url + ".csv", headers=admin)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text == ("brand_code,price_class,projected_demand,basis,factor,available,proposed\n"
                        "A,1,0,forecast,1.00,3,0\nC,4,10,forecast,0.95,,9\nE,2,0,forecast,1.00,10,0\n")


def test_plan_pages_and_an_empty_plan(client, auth, city):
    admin = auth("admin")
    pid = plan_cycle(client, admin)
    client.put("/v1/supply-policy", json={"weeks": 3}, headers=admin)
    first = client.get(f"/v1/cycles/{pid}/supply-plan", params={"limit": 2}, headers=admin).json()
    rest = client.get(f"/v1/cycles/{pid}/supply-plan", params={"cursor": first["next_cursor"]}, headers=admin).json()
    assert [x["brand_code"] for x in first["items"] + rest["items"]] == ["A", "C", "D"] and rest["next_cursor"] is None
    assert first["totals"]["specs"] == 3                                  # totals are over the whole plan
    # a week in 2024 has nothing in its window: the plan is empty, and so is its CSV but for the header
    r = client.post("/v1/cycles", json={"name": "old", "start_date": "2024-01-08", "end_date": "2024-01-14"},
                    headers=admin)
    empty = client.get(f"/v1/cycles/{r.json()['id']}/supply-plan.csv", headers=admin)
    assert empty.text == ",".join(ROWS) + "\n"
    assert client.get("/v1/cycles/999999/supply-plan", headers=admin).status_code == 404


def test_supply_policy_is_versioned_and_audited(client, auth, city):
    admin, auditor = auth("admin"), auth("auditor")
    first = client.get("/v1/supply-policy", headers=auditor).json()
    assert first["version"] == 1 and first["params"] == {"factors": {"1": 1.0, "2": 1.0, "3": 1.0, "4": 0.95,
                                                                     "5": 0.95}, "weeks": 8}
    r = client.put("/v1/supply-policy", json={"factors": {"4": 0.9, "5": 0.9}, "weeks": 6}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert r.json()["params"]["factors"] == {"1": 1.0, "2": 1.0, "3": 1.0, "4": 0.9, "5": 0.9}
    again = client.put("/v1/supply-policy", json={"factors": {"4": 0.9, "5": 0.9}, "weeks": 6}, headers=admin)
    assert again.json()["version"] == 2                                    # PUT replaces: no new version
    events = client.get("/v1/audit-events", params={"object_type": "supply_policy"}, headers=auditor).json()["items"]
    assert [(e["action"], e["old"]["version"], e["new"]["version"]) for e in events] == [("supply_policy.update", 1, 2)]
    for bad in ({"factors": {"4": 0}}, {"factors": {"4": 0.951}}, {"factors": {"9": 1}}, {"weeks": 0},
                {"weeks": 3, "extra": 1}):
        r = client.put("/v1/supply-policy", json=bad, headers=admin)
        assert r.status_code == 422 and set(r.json()) >= {"detail", "code"}, (bad, r.text)
    assert client.put("/v1/supply-policy", json={}, headers=auditor).status_code == 403


def test_availability_replaces_in_any_state_and_refuses_bad_lines(client, auth, city):
    admin = auth("admin")
    c1 = city["c1"]                                                       # closed: availability may still change
    url = f"/v1/cycles/{c1}/availability"
    assert client.put(url, json=[{"brand_code": "C", "quantity": 5}, {"brand_code": "A", "quantity": 0}],
                      headers=admin).status_code == 200
    got = client.get(url, headers=auth("auditor")).json()
    assert got == {"items": [{"brand_code": "A", "quantity": 0}, {"brand_code": "C", "quantity": 5}],
                   "next_cursor": None}
    assert client.put(url, json=[{"brand_code": "D", "quantity": 1}], headers=admin).status_code == 200
    assert client.get(url, headers=admin).json()["items"] == [{"brand_code": "D", "quantity": 1}]
    for bad, code in (([{"brand_code": "NOPE", "quantity": 1}], "unknown_spec"),
                      ([{"brand_code": "A", "quantity": 1}, {"brand_code": "A", "quantity": 2}], "duplicate_line"),
                      ([{"brand_code": "A", "quantity": -1}], "invalid_request"),
                      ([{"brand_code": "A", "quantity": 1, "minimum": 1}], "invalid_request")):
        r = client.put(url, json=bad, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert client.get(url, headers=admin).json()["items"] == [{"brand_code": "D", "quantity": 1}]
    events = client.get("/v1/audit-events", params={"action": "availability.replace"},
                        headers=admin).json()["items"]
    assert len(events) == 2 and events[-1]["new"] == {"total": 1, "specs": {"D": 1}}
    assert client.put("/v1/cycles/999999/availability", json=[], headers=admin).status_code == 404


def test_a_kept_projection_follows_a_reopen_a_retailer_and_a_history_load(client, auth, city, session, company,
                                                                           tmp_path):
    admin = auth("admin")
    pid = plan_cycle(client, admin)
    assert client.put("/v1/supply-policy", json={"weeks": 3}, headers=admin).status_code == 200

    def projected() -> dict:
        body = client.get(f"/v1/cycles/{pid}/supply-plan", headers=admin).json()
        return {x["brand_code"]: x["projected_demand"] for x in body["items"]}

    assert projected() == {"A": 4, "C": 3, "D": 2}
    assert session.execute(select(func.count()).select_from(ProjectionLine)).scalar_one() > 0  # kept, not re-summed
    assert projected() == {"A": 4, "C": 3, "D": 2}
    # C1 reopened no longer covers W11: the history fills it (R1 A 70)
    assert client.post(f"/v1/cycles/{city['c1']}/reopen", headers=admin).status_code == 200
    assert projected() == {"A": 25, "C": 2, "D": 2}
    # R1 suspended: M1's part is R2's alone
    session.get(Retailer, (company.id, "R1")).status = "suspended"
    session.commit()
    assert projected() == {"A": 1, "C": 2, "D": 2}
    # a history load of W12 (another name for the week than the rows already there)
    (tmp_path / "history.csv").write_text("retailer_id,period,brand_code,quantity\nR2,2025-W12,A,30\n")
    load_dir(session, company.id, tmp_path)
    session.commit()
    assert projected() == {"A": 11, "C": 2, "D": 2}
