"""A run's and a scenario's priority over HTTP: named in the request or taken from the allocation policy, recorded
and shown.

The small run_world of runs_world.py under `choice`, worked out by hand. R1 (cap 700) ordered A 600 (short: 1,000
for R1's 600 and R2's 600) and C 300 (plentiful). The even cut keeps R1's 700 lowest-ranked cartons: A 467 and C
233 (A's 467th carton, rank 466/600, ties C's 234th, 233/300, and A comes first by brand_code). Step 2 shares
A's 1,000 by fill ratio between R1's 467 and R2's 600: the 1,000 cheapest of the ranks k/467 and k/600 are
R1's first 438 and R2's first 562. Step 3 gives R1's 29 cartons of room left to C. D and the other lines are
as under `volume`. Volume 2,362 of the volume priority's 2,400: a cost of 38/2400.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.tables import AuditEvent
from tests.worlds.runs import EXPECTED, pull_all

CHOICE = {**EXPECTED, ("R1", "A"): (600, 438, "cap"), ("R1", "C"): (300, 262, "cap"),
          ("R2", "A"): (600, 562, "supply")}


def start(client, auth, cycle_id, **body):
    return client.post(f"/v1/cycles/{cycle_id}/allocation-runs", headers=auth("admin"), **body)


def rows_of(client, auth, run_id) -> dict:
    rows = pull_all(client, f"/v1/allocation-runs/{run_id}/allocations", auth("auditor"), limit=1000)
    return {(x["retailer_id"], x["brand_code"]): (x["demanded"], x["allocated"], x["reason"]) for x in rows}


def test_a_run_named_choice_records_it_and_reports_its_cost(client, auth, session, run_world):
    r = start(client, auth, run_world.id, json={"priority": "choice"})
    assert r.status_code == 202, r.text
    assert r.json()["priority"] == "choice"
    run_id = r.json()["run_id"]
    run = client.get(f"/v1/allocation-runs/{run_id}", headers=auth("auditor")).json()
    assert run["status"] == "succeeded" and run["priority"] == "choice", run
    cert = run["certificate"]
    assert (cert["priority"], cert["volume"], cert["volume_policy_max"], cert["max_volume"]) == \
        ("choice", 2362, 2400, 2400)
    assert cert["volume_cost"] == round(38 / 2400, 6) and cert["fairness_violations"] == 0
    assert cert["steps"]["cut"]["volume"] == cert["steps"]["cut"]["max_volume"] == 2333
    assert cert["steps"]["refill"]["volume"] == cert["steps"]["refill"]["max_volume"] == 29
    assert cert["cut_cartons"] == 200 and cert["feasible"]
    assert rows_of(client, auth, run_id) == CHOICE
    listed = client.get(f"/v1/cycles/{run_world.id}/allocation-runs", headers=auth("auditor")).json()["items"]
    assert [(x["run_id"], x["priority"]) for x in listed] == [(run_id, "choice")]
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "allocation_run.start")).scalar_one()
    assert event.new["priority"] == "choice"


def test_without_a_priority_the_run_takes_the_policy(client, auth, run_world):
    first = start(client, auth, run_world.id)
    assert first.status_code == 202 and first.json()["priority"] == "volume"
    run = client.get(f"/v1/allocation-runs/{first.json()['run_id']}", headers=auth("admin")).json()
    cert = run["certificate"]
    assert run["priority"] == "volume" and cert["priority"] == "volume"
    assert cert["volume"] == cert["volume_policy_max"] == 2400 and cert["volume_cost"] == 0
    assert rows_of(client, auth, first.json()["run_id"]) == EXPECTED

    assert client.put("/v1/allocation-policy", json={"priority": "choice"}, headers=auth("admin")).status_code == 200
    second = start(client, auth, run_world.id, json={})
    assert second.json()["priority"] == "choice"
    assert rows_of(client, auth, second.json()["run_id"]) == CHOICE
    third = start(client, auth, run_world.id, json={"priority": "volume"})  # a request's priority wins over the policy
    assert third.json()["priority"] == "volume"
    assert rows_of(client, auth, third.json()["run_id"]) == EXPECTED


@pytest.mark.parametrize("body", [{"priority": "fairness"}, {"priority": 1}, {"priority": "choice", "x": 1}, [1]])
def test_a_bad_priority_is_422_and_starts_nothing(client, auth, run_world, body):
    r = start(client, auth, run_world.id, json=body)
    assert r.status_code == 422 and set(r.json()) == {"detail", "code"}, r.text
    assert client.get(f"/v1/cycles/{run_world.id}/allocation-runs", headers=auth("admin")).json()["items"] == []


def test_a_retry_with_another_priority_is_another_request(client, auth, run_world):
    key = {"Idempotency-Key": "run-w47"}
    first = client.post(f"/v1/cycles/{run_world.id}/allocation-runs", headers={**auth("admin"), **key},
                        json={"priority": "choice"})
    again = client.post(f"/v1/cycles/{run_world.id}/allocation-runs", headers={**auth("admin"), **key},
                        json={"priority": "choice"})
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    other = client.post(f"/v1/cycles/{run_world.id}/allocation-runs", headers={**auth("admin"), **key},
                        json={"priority": "volume"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_a_scenario_takes_a_priority_like_a_run_and_compares_with_the_run(client, auth, run_world):
    run_id = start(client, auth, run_world.id).json()["run_id"]  # the policy's default: volume
    r = client.post(f"/v1/cycles/{run_world.id}/scenarios", headers=auth("admin"),
                    json={"name": "choice first", "priority": "choice"})
    assert r.status_code == 202 and r.json()["priority"] == "choice", r.text
    shown = client.get(f"/v1/scenarios/{r.json()['scenario_id']}", headers=auth("auditor")).json()
    assert shown["status"] == "succeeded" and shown["priority"] == "choice", shown
    cert = shown["certificate"]
    assert (cert["priority"], cert["volume"], cert["volume_policy_max"]) == ("choice", 2362, 2400)
    assert cert["volume_cost"] == round(38 / 2400, 6)
    assert shown["compared_run_id"] == run_id and shown["comparison"]["volume_change"] == 2362 - 2400
    rows = pull_all(client, f"/v1/scenarios/{shown['scenario_id']}/allocations", auth("auditor"), limit=1000)
    assert {(x["retailer_id"], x["brand_code"]): (x["demanded"], x["allocated"], x["reason"]) for x in rows} == CHOICE

    client.put("/v1/allocation-policy", json={"priority": "choice"}, headers=auth("admin"))
    plain = client.post(f"/v1/cycles/{run_world.id}/scenarios", headers=auth("admin"), json={"name": "policy's"})
    assert plain.json()["priority"] == "choice"
    bad = client.post(f"/v1/cycles/{run_world.id}/scenarios", headers=auth("admin"),
                      json={"name": "typo", "priority": "fairness"})
    assert bad.status_code == 422 and set(bad.json()) == {"detail", "code"}
