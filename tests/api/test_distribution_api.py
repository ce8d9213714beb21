"""The distribution center's pull: every published row once, CSV = JSON, pick list sums, the feed, roles."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from models.tables_runs import Allocation
from tests.worlds.runs import EXPECTED, OWNER, PRICES, ROUTE, add_cycle, csv_rows, expected_rows, pull_all, queue_run

PULL = "/v1/cycles/{}/allocations"



def run_and_publish(client, auth, cycle_id) -> str:
    r = client.post(f"/v1/cycles/{cycle_id}/allocation-runs", headers=auth("admin"))
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    assert client.post(f"/v1/allocation-runs/{run_id}/publish", headers=auth("admin")).status_code == 200
    return run_id


@pytest.fixture
def published(client, auth, run_world):
    run_and_publish(client, auth, run_world.id)
    return run_world


def test_nothing_to_pull_before_publishing(client, auth, session, company, run_world):
    queue_run(session, company.id, run_world.id)
    for path in (PULL.format(run_world.id), PULL.format(run_world.id) + ".csv", f"/v1/cycles/{run_world.id}/pick-list"):
        r = client.get(path, headers=auth("distribution_center"))
        assert r.status_code == 409 and r.json()["code"] == "not_published", path
        assert "published" in r.json()["detail"]
    assert client.get("/v1/publications", headers=auth("distribution_center")).json()["items"] == []


def test_pull_gives_every_row_once_while_other_cycles_are_written(client, auth, session, company, published):
    other = add_cycle(session, company.id, name="2026-W48")
    session.commit()
    other_run = queue_run(session, company.id, other.id)
    fillers = iter([f"R{i}" for i in range(100)] + [f"R1{c}" for c in "ABCDEFGH"])

    def write_other_cycle():
        rid = next(fillers)
        for code in ("A", "B", "0", "ZZ"):
            session.add(Allocation(run_id=other_run, retailer_id=rid, brand_code=code, demanded=5, allocated=5,
                                   reason="full"))
        session.commit()

    rows = pull_all(client, PULL.format(published.id), auth("distribution_center"), limit=2, between=write_other_cycle)
    assert rows == expected_rows()
    for limit in (1, 3, 1000):
        assert pull_all(client, PULL.format(published.id), auth("distribution_center"), limit=limit) == rows


def test_value_is_wholesale_price_times_allocated(client, auth, published):
    rows = pull_all(client, PULL.format(published.id), auth("auditor"), limit=100)
    got = {(x["retailer_id"], x["brand_code"]): x["value"] for x in rows}
    assert got[("R1", "A")] == "40000.00" and got[("R2", "D")] == "3702.00" and got[("R3", "B")] == "0.00"
    assert got[("R1", "C")] == "10530.00"
    assert sum(Decimal(v) for v in got.values()) == sum(PRICES[b] * a for (_, b), (_, a, _) in EXPECTED.items())


@pytest.mark.parametrize("filters", [{}, {"route_id": "RT1"}, {"route_id": "RT2"}, {"delivery_weekday": 4},
                                     {"route_id": "RT1", "delivery_weekday": 2}, {"route_id": "nowhere"},
                                     {"route_id": "RT1' OR 'a'='a"}, {"route_id": "%s%%"}])
def test_filters_and_csv_equal_json(client, auth, published, filters):
    def keep(rid):
        route, day = ROUTE[rid]
        return filters.get("route_id", route) == route and filters.get("delivery_weekday", day) == day

    rows = pull_all(client, PULL.format(published.id), auth("distribution_center"), limit=2, **filters)
    assert rows == expected_rows(keep)
    r = client.get(PULL.format(published.id) + ".csv", params=filters, headers=auth("distribution_center"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0] == "retailer_id,brand_code,demanded,allocated,reason,route_id,delivery_weekday,value"
    assert csv_rows(r.text) == rows


def test_account_manager_pulls_his_own_retailers_only(client, auth, published):
    mine = pull_all(client, PULL.format(published.id), auth("account_manager", "M1"), limit=2)
    assert mine == expected_rows(lambda rid: OWNER[rid] == "M1") and mine
    assert {x["retailer_id"] for x in pull_all(client, PULL.format(published.id), auth("account_manager", "M2"),
                                               limit=50)} == {"R5", "R6"}
    r = client.get(PULL.format(published.id) + ".csv", headers=auth("account_manager", "M1"))
    assert csv_rows(r.text) == mine
    assert pull_all(client, PULL.format(published.id), auth("account_manager", "M3"), limit=5) == []


def pick(client, auth, cycle_id, **filters):
    return pull_all(client, f"/v1/cycles/{cycle_id}/pick-list", auth("distribution_center"), limit=2, **filters)


def test_pick_list_by_hand(client, auth, published):
    assert pick(client, auth, published.id) == [
        {"brand_code": "A", "name": "spec A", "cartons": 1000, "cases": 4, "cartons_over": 0},
        {"brand_code": "C", "name": "spec C", "cartons": 500, "cases": 2, "cartons_over": 0},
        {"brand_code": "D", "name": "spec D", "cartons": 900, "cases": 3, "cartons_over": 150}]
    assert pick(client, auth, published.id, route_id="RT1", delivery_weekday=4) == [
        {"brand_code": "D", "name": "spec D", "cartons": 600, "cases": 2, "cartons_over": 100}]


@pytest.mark.parametrize("filters", [{}, {"route_id": "RT1"}, {"route_id": "RT2"}, {"delivery_weekday": 2}])
def test_pick_list_sums_equal_the_pulled_rows(client, auth, published, filters):
    rows = pull_all(client, PULL.format(published.id), auth("distribution_center"), limit=1000, **filters)
    per_spec = defaultdict(int)
    for x in rows:
        per_spec[x["brand_code"]] += x["allocated"]
    lines = pick(client, auth, published.id, **filters)
    assert {x["brand_code"]: x["cartons"] for x in lines} == {b: n for b, n in per_spec.items() if n}
    assert all(x["cases"] * 250 + x["cartons_over"] == x["cartons"] and 0 <= x["cartons_over"] < 250 for x in lines)


def test_publications_feed_in_publish_order_and_resumable(client, auth, session, company, run_world):
    later = add_cycle(session, company.id, name="2026-W48")
    session.commit()
    first_run = run_and_publish(client, auth, later.id)
    feed = client.get("/v1/publications", headers=auth("distribution_center")).json()
    assert [(x["cycle_id"], x["run_id"]) for x in feed["items"]] == [(str(later.id), first_run)]
    assert feed["next_cursor"] is None and feed["items"][0]["cycle_name"] == "2026-W48"
    resume = feed["resume_cursor"]
    nothing_new = client.get("/v1/publications", params={"cursor": resume}, headers=auth("distribution_center"))
    assert nothing_new.json()["items"] == [] and nothing_new.json()["resume_cursor"] == resume
    second_run = run_and_publish(client, auth, run_world.id)
    new = client.get("/v1/publications", params={"cursor": resume}, headers=auth("auditor")).json()
    assert [(x["cycle_id"], x["run_id"]) for x in new["items"]] == [(str(run_world.id), second_run)]
    paged = pull_all(client, "/v1/publications", auth("admin"), limit=1)
    assert [x["cycle_id"] for x in paged] == [str(later.id), str(run_world.id)]


def test_roles_on_distribution_routes(client, auth, published):
    cid = published.id
    everyone = ["distribution_center", "admin", "auditor"]
    matrix = {PULL.format(cid): everyone + ["account_manager"], PULL.format(cid) + ".csv": everyone + ["account_manager"],
              f"/v1/cycles/{cid}/pick-list": everyone, "/v1/publications": everyone}
    people = {"distribution_center": auth("distribution_center"), "admin": auth("admin"), "auditor": auth("auditor"),
              "account_manager": auth("account_manager", "M1"), "market_manager": auth("market_manager", "MM1")}
    for path, allowed in matrix.items():
        assert client.get(path).status_code == 401, path
        for role, headers in people.items():
            assert client.get(path, headers=headers).status_code == (200 if role in allowed else 403), (path, role)
    for path in (PULL.format(999999), PULL.format("x") + ".csv", "/v1/cycles/999999/pick-list"):
        r = client.get(path, headers=auth("distribution_center"))
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    for params in ({"delivery_weekday": 8}, {"limit": 1001}, {"route_id": ""}, {"cursor": "not-a-cursor"}):
        assert client.get(PULL.format(cid), params=params, headers=auth("admin")).status_code == 422, params
    assert client.get(PULL.format(cid), params={"delivery_weekday": 8}, headers=people["market_manager"]) \
        .status_code == 403
