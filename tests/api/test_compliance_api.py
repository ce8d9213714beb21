"""Compliance over HTTP, on SQLite and PostgreSQL: the hand-computed figures of tests/allocation/test_compliance.py
read back from real tables (orders with versions, cap adjustments in every state, a published run, history loaded
as ISO weeks and as dates), range pooling, scopes, CSV, clusters and the versioned compliance policy.

The world is that file's (same orders, prices, owners), with what only the database has:
- r4's collected order is at version 2 with version 1 approved (a stale approval: left out);
- r3's collected order is at version 2, approved at version 2;
- M1 has an approved adjustment (5 + 3), a pending one (40) and a rejected one (70): only the approved counts;
  M2 an approved one (2);
- cycle 1 is published with allocations K 4 and A 6 to M1's retailers (and 0 cartons of B, a row that adds
  nothing); cycle 2 is closed; cycle 3 (in the range, open) is left out and listed; cycle 4 is planned;
- history of M1's r1 in 2025-W48 (the week of Monday 2025-11-24), written as '2025-W48' (K 1) and as the date
  '2025-11-26' (A 1, B 2), plus spec GONE (not in the master) 5; and s1's A 3 in 2025-W49, cycle 2's year-ago
  week: that week is loaded, so M2 has a last-year value there (150 / 3 = 50.00) but no demand in cycle 2 (s1's
  order is left out), hence no change in cycle 2; pooled over the range his change is (320/12) / 50 − 1 = −46.67 %.
- market manager MM1 supervises M1 and M2, MM2 supervises M3.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date

import pytest
from sqlalchemy import select

from models.tables import AuditEvent, CapAdjustment, Cycle, History, Retailer
from models.tables_runs import Allocation, AllocationRun, Publication
from tests.worlds.compliance import CYCLE_1, ORDERS, OWNERS, POOLED, PRICES, same
from tests.worlds.forecasts import Seed

RANGE = {"from": "2026-11-01", "to": "2026-12-31"}


class World(Seed):
    """Seed plus what compliance reads beyond orders: adjustments, a publication, history."""

    def adjustment(self, cycle_id: int, manager_id: str, quantities: list[int], status: str) -> None:
        moves = [{"from_retailer_id": "r1", "to_retailer_id": "r2", "quantity": q} for q in quantities]
        self.session.add(CapAdjustment(company_id=self.company_id, cycle_id=cycle_id, manager_id=manager_id,
                                       reason="test", status=status, moves=moves, created_by=self.user_id))

    def publish(self, cycle_id: int, rows: list[tuple[str, str, int]]) -> None:
        run = AllocationRun(company_id=self.company_id, cycle_id=cycle_id, status="succeeded",
                            created_by=self.user_id)
        self.session.add(run)
        self.session.flush()
        for rid, code, qty in rows:
            self.session.add(Allocation(run_id=run.id, retailer_id=rid, brand_code=code, demanded=qty + 1,
                                        allocated=qty, reason="supply"))
        self.session.add(Publication(company_id=self.company_id, cycle_id=cycle_id, run_id=run.id,
                                     published_by=self.user_id))
        cycle = self.session.get(Cycle, cycle_id)
        cycle.status, cycle.published_run_id = "published", run.id
        self.session.flush()


@pytest.fixture
def city(session, company):
    w = World(session, company.id)
    w.managers({"M1": "MM1", "M2": "MM1", "M3": "MM2"})
    w.brands({code: code == "K" for code in PRICES})
    w.retailers(OWNERS)
    from models.tables import Brand
    for code, price in PRICES.items():
        session.get(Brand, (company.id, code)).wholesale_price = price
    session.get(Retailer, (company.id, "r6")).status = "suspended"
    ids = {1: w.cycle("2026-W48", date(2026, 11, 23)), 2: w.cycle("2026-W49", date(2026, 11, 30))}
    for c, rows in ORDERS.items():
        for rid, (channel, approved, lines) in rows.items():
            version = 2 if channel == "collected" else 1
            w.order(ids[c], rid, lines, channel, version=version,
                    approved_version=(2 if approved else (1 if rid == "r4" else None)) if channel == "collected"
                    else None)
    w.adjustment(ids[1], "M1", [5, 3], "approved")
    w.adjustment(ids[1], "M1", [40], "pending")
    w.adjustment(ids[1], "M1", [70], "rejected")
    w.adjustment(ids[1], "M2", [2], "approved")
    w.publish(ids[1], [("r1", "K", 4), ("r2", "A", 6), ("r3", "B", 0)])
    for period, code, qty in [("2025-W48", "K", 1), ("2025-11-26", "A", 1), ("2025-11-26", "B", 2),
                              ("2025-W48", "GONE", 5)]:
        session.add(History(company_id=company.id, period=period, retailer_id="r1", brand_code=code, quantity=qty))
    session.add(History(company_id=company.id, period="2025-W49", retailer_id="s1", brand_code="A", quantity=3))
    open_cycle = w.cycle("2026-W50", date(2026, 12, 7), "open")
    w.order(open_cycle, "r1", {"K": 99})
    ids[3] = open_cycle
    ids[4] = w.cycle("2026-W51", date(2026, 12, 14), "planned", opens_in_days=3)
    session.commit()
    return {k: str(v) for k, v in ids.items()}


def by_manager(items: list[dict]) -> dict:
    return {i["manager_id"]: {k: (math.nan if v is None else v) for k, v in i.items()} for i in items}


def test_one_cycle_equals_the_hand_figures(client, auth, city):
    r = client.get("/v1/compliance", params={"cycle_id": city[1]}, headers=auth("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["policy_version"] == 1 and body["cycle_ids"] == [city[1]] and body["cycles_not_closed"] == []
    assert [i["manager_id"] for i in body["items"]] == [None, "M1", "M2", "M3"]
    got = by_manager(body["items"])
    for manager, want in CYCLE_1.items():
        same({k: got[manager][k] for k in want}, want)
        assert got[manager]["period"] == city[1] and got[manager]["policy_version"] == 1


def test_a_range_pools_the_final_cycles_and_lists_the_others(client, auth, city):
    r = client.get("/v1/compliance", params=RANGE, headers=auth("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cycle_ids"] == [city[1], city[2]] and body["cycles_not_closed"] == [city[3], city[4]]
    assert body["from"] == RANGE["from"] and body["to"] == RANGE["to"]
    got = by_manager(body["items"])
    for manager, want in POOLED.items():
        if manager == "M2":  # cycle 2's year-ago week is loaded (s1's history): M2 has a last-year value there
            want = {**want, "value_per_carton_last_year": 50.0, "value_per_carton_change": -46.67}
        same({k: got[manager][k] for k in want}, want)
    assert {i["period"] for i in body["items"]} == {"2026-11-01..2026-12-31"}


def test_cycle_two_reads_history_of_its_own_week(client, auth, city):
    got = by_manager(client.get("/v1/compliance", params={"cycle_id": city[2]}, headers=auth("auditor")).json()["items"])
    assert got["M2"]["value_per_carton_last_year"] == 50.0 and math.isnan(got["M2"]["value_per_carton_change"])
    assert math.isnan(got["M1"]["value_per_carton_last_year"])  # M1's retailers have no rows that week
    assert math.isnan(got["M1"]["value_per_carton_allocated"])  # closed, not published
    assert got["M1"]["value_per_carton_demand"] == 75.0         # r1 K1 A1 + r3 K1 A1: 300 元 / 4


def test_the_manager_is_the_retailers_current_one(client, auth, city, session, company):
    before = by_manager(client.get("/v1/compliance", params={"cycle_id": city[1]},
                                   headers=auth("auditor")).json()["items"])  # builds the published cycle's snapshot
    assert before["M1"]["value_per_carton_allocated"] == 70.0 and math.isnan(before["M3"]["value_per_carton_allocated"])
    session.get(Retailer, (company.id, "s1")).manager_id = "M3"
    session.get(Retailer, (company.id, "r1")).manager_id = "M3"  # its K 4 allocated moves with it
    session.commit()
    got = by_manager(client.get("/v1/compliance", params={"cycle_id": city[1]}, headers=auth("auditor")).json()["items"])
    assert got["M2"]["orders"] == 1 and got["M3"]["orders"] == 2 and got["M1"]["orders"] == 5
    assert got["M3"]["value_per_carton_allocated"] == 100.0 and got["M1"]["value_per_carton_allocated"] == 50.0
    assert got["M3"]["key_share_allocated"] == 1.0 and got["M1"]["key_share_allocated"] == 0.0


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"cycle_id": "3"}, 409, "cycle_state"),
    ({"cycle_id": "4"}, 409, "cycle_state"),
    ({"cycle_id": "999999"}, 404, "not_found"),
    ({"cycle_id": "1", "from": "2026-11-01", "to": "2026-12-31"}, 422, "invalid_request"),
    ({"from": "2026-11-01"}, 422, "invalid_request"),
    ({"from": "2026-12-31", "to": "2026-11-01"}, 422, "invalid_request"),
    ({"from": "yesterday", "to": "2026-11-01"}, 422, None),
])
def test_refusals(client, auth, city, params, status, code):
    params = {k: (city[int(v)] if k == "cycle_id" and v in "34" else v) for k, v in params.items()}
    for path in ("/v1/compliance", "/v1/compliance.csv", "/v1/compliance/clusters"):
        r = client.get(path, params=params, headers=auth("auditor"))
        assert r.status_code == status, (path, r.text)
        assert {"detail", "code"} <= set(r.json())
        if code:
            assert r.json()["code"] == code


@pytest.mark.parametrize(("role", "manager", "visible"), [
    ("auditor", None, [None, "M1", "M2", "M3"]),
    ("admin", None, [None, "M1", "M2", "M3"]),
    ("market_manager", "MM1", ["M1", "M2"]),
    ("market_manager", "MM2", ["M3"]),
])
def test_scope(client, auth, city, role, manager, visible):
    headers = auth(role, manager)
    for path in ("/v1/compliance", "/v1/compliance.csv"):
        r = client.get(path, params={"cycle_id": city[1]}, headers=headers)
        assert r.status_code == 200, r.text
        rows = r.json()["items"] if path.endswith("compliance") else list(csv.DictReader(io.StringIO(r.text)))
        assert [i["manager_id"] or None for i in rows] == visible
    clusters = client.get("/v1/compliance/clusters", params={"cycle_id": city[1]}, headers=headers).json()["items"]
    assert [c["manager_id"] for c in clusters] == (["M1"] if "M1" in visible else [])
    only = client.get("/v1/compliance", params={"cycle_id": city[1], "manager_id": "M1"}, headers=headers).json()
    assert [i["manager_id"] for i in only["items"]] == (["M1"] if "M1" in visible else [])


@pytest.mark.parametrize("role", ["account_manager", "distribution_center"])
def test_other_roles_are_refused(client, auth, city, role):
    for path in ("/v1/compliance", "/v1/compliance.csv", "/v1/compliance/clusters", "/v1/compliance-policy"):
        r = client.get(path, params={"cycle_id": city[1]}, headers=auth(role, "M1" if role == "account_manager"
                                                                        else None))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", path


def test_csv_has_the_contracts_columns_and_empty_cells(client, auth, city):
    r = client.get("/v1/compliance.csv", params={"cycle_id": city[1]}, headers=auth("auditor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["manager_id", "period", "orders", "retailer_stated", "collected", "collected_approved",
                             "collected_left_out", "no_order_retailers", "self_submission_rate",
                             "self_submission_volume_rate", "orders_in_clusters", "cluster_share", "cap_moves",
                             "cartons_moved", "value_per_carton_demand", "value_per_carton_allocated",
                             "value_per_carton_last_year", "value_per_carton_change", "key_share_demand",
                             "key_share_allocated", "policy_version"]
    company, m1, m3 = rows[0], rows[1], rows[3]
    assert company["manager_id"] == "" and company["orders"] == "8" and company["value_per_carton_change"] == "-17.81"
    assert m1["value_per_carton_demand"] == "42.75" and m1["cartons_moved"] == "8"
    assert m3["self_submission_rate"] == "" and m3["no_order_retailers"] == "1"


def test_the_cluster_with_its_lines_and_retailers(client, auth, city):
    r = client.get("/v1/compliance/clusters", params={"cycle_id": city[1]}, headers=auth("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["policy_version"], body["min_cluster"], body["min_lines"]) == (1, 3, 3)
    assert body["items"] == [{"cycle_id": city[1], "manager_id": "M1", "size": 3,
                              "lines": [{"brand_code": "A", "quantity": 3}, {"brand_code": "B", "quantity": 5},
                                        {"brand_code": "K", "quantity": 2}],
                              "retailer_ids": ["r1", "r2", "r3"]}]
    assert client.get("/v1/compliance/clusters", params={"cycle_id": city[2]},
                      headers=auth("auditor")).json()["items"] == []


def test_paging(client, auth, city, session):
    headers = auth("auditor")
    seen, cursor = [], None
    while True:
        r = client.get("/v1/compliance", params={"cycle_id": city[1], "limit": 1, **({"cursor": cursor} if cursor
                                                                                    else {})}, headers=headers)
        assert r.status_code == 200, r.text
        seen += [i["manager_id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [None, "M1", "M2", "M3"]
    # two clusters, one page each
    w = World(session, session.get(Cycle, int(city[2])).company_id)
    for rid in ("r2", "r4", "r5"):
        w.order(int(city[2]), rid, {"K": 1, "A": 1, "B": 1})
    session.commit()
    clusters, cursor = [], None
    while True:
        r = client.get("/v1/compliance/clusters", params={"from": RANGE["from"], "to": RANGE["to"], "limit": 1,
                                                          **({"cursor": cursor} if cursor else {})}, headers=headers)
        clusters += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert [(c["cycle_id"], c["retailer_ids"]) for c in clusters] == [(city[1], ["r1", "r2", "r3"]),
                                                                       (city[2], ["r2", "r4", "r5"])]
    assert client.get("/v1/compliance", params={"cycle_id": city[1], "cursor": "bm9wZQ=="},
                      headers=headers).status_code == 422


def test_policy_is_versioned_audited_and_used(client, auth, city, session):
    admin, auditor = auth("admin"), auth("auditor")
    r = client.get("/v1/compliance-policy", headers=auditor)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert r.json()["params"] == {"min_cluster": 3, "min_lines": 3}
    assert client.put("/v1/compliance-policy", json={"min_cluster": 2}, headers=auditor).status_code == 403
    for bad in ({"min_cluster": 1}, {"min_lines": 0}, {"min_cluster": "many"}, {"min_cluster": 3, "fuzzy": True}):
        r = client.put("/v1/compliance-policy", json=bad, headers=admin)
        assert r.status_code == 422 and {"detail", "code"} <= set(r.json()), bad
    r = client.put("/v1/compliance-policy", json={"min_cluster": 2, "min_lines": 2}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["created_by"] is not None
    assert client.put("/v1/compliance-policy", json={"min_cluster": 2, "min_lines": 2},
                      headers=admin).json()["version"] == 2  # the same body keeps the version
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "compliance_policy.update")).scalars().all()
    assert len(event) == 1 and event[0].old["params"] == {"min_cluster": 3, "min_lines": 3}
    assert event[0].new == {"version": 2, "params": {"min_cluster": 2, "min_lines": 2}}
    # cycle 2: r1 and r3 now form a cluster (two orders of two lines); so do s1 and s2 in cycle 1
    body = client.get("/v1/compliance/clusters", params=RANGE, headers=auditor).json()
    assert body["policy_version"] == 2 and (body["min_cluster"], body["min_lines"]) == (2, 2)
    assert [(c["cycle_id"], c["retailer_ids"]) for c in body["items"]] == [
        (city[1], ["r1", "r2", "r3"]), (city[1], ["s1", "s2"]), (city[2], ["r1", "r3"])]
    rows = client.get("/v1/compliance", params={"cycle_id": city[2]}, headers=auditor).json()
    assert rows["policy_version"] == 2 and by_manager(rows["items"])["M1"]["orders_in_clusters"] == 2


def test_kept_sums_follow_every_change_of_what_they_were_read_from(client, auth, city, session, company, tmp_path):
    from sqlalchemy import delete, func

    from models.load import load_dir
    from models.tables import Brand
    from models.tables_demand import ComplianceKept, OrderLine
    from models.types import utcnow

    def read() -> list[dict]:
        r = client.get("/v1/compliance", params={"from": "2026-11-01", "to": "2026-12-31"}, headers=auth("auditor"))
        clusters = client.get("/v1/compliance/clusters", params={"cycle_id": city[2]}, headers=auth("auditor"))
        return [r.json()["items"], clusters.json()["items"]]

    def afresh() -> list[dict]:
        session.execute(delete(ComplianceKept))
        session.commit()
        return read()

    def same(a, b) -> bool:  # NaN figures compare equal
        return repr(a) == repr(b)

    first = read()
    assert session.execute(select(func.count()).select_from(ComplianceKept)).scalar_one() == 2  # range, one cycle
    assert same(read(), first) and same(afresh(), first)
    changes = [
        lambda: setattr(session.get(Brand, (company.id, "K")), "wholesale_price", 999),
        lambda: session.execute(select(CapAdjustment).where(CapAdjustment.status == "pending")).scalar_one().__setattr__(
            "status", "approved"),
        lambda: setattr(session.get(Retailer, (company.id, "r2")), "status", "suspended"),
    ]
    for change in changes:
        before = read()
        change()
        session.commit()
        got = read()
        assert not same(got, before) and same(got, afresh())
    # cycle 2 reopened, an order changed and closed again: a new close
    before = read()
    cycle = session.get(Cycle, int(city[2]))
    line = session.execute(select(OrderLine).where(OrderLine.cycle_id == cycle.id)).scalars().first()
    line.quantity += 7
    cycle.closed_at = utcnow()
    session.commit()
    got = read()
    assert not same(got, before) and same(got, afresh())
    # a history load of cycle 2's year-ago week
    before = read()
    (tmp_path / "history.csv").write_text("retailer_id,period,brand_code,quantity\nr1,2025-W49,K,40\n")
    load_dir(session, company.id, tmp_path)
    session.commit()
    got = read()
    assert not same(got, before) and same(got, afresh())
