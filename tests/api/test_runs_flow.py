"""A whole cycle through the API, then a run executed by a real worker process on committed data."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from models.users import get_or_create_company
from tests.worlds.runs import (
    CAPS,
    EXPECTED,
    ORDERS,
    OWNER,
    SUPPLY,
    add_cycle,
    add_master,
    csv_rows,
    expected_rows,
    pull_all,
)
from tests.conftest import Tokens


def test_a_whole_cycle_through_the_api(client, auth, session, company):
    add_master(session, company.id)
    session.commit()
    admin = auth("admin")
    r = client.post("/v1/cycles", json={"name": "2026-W47", "start_date": "2026-11-16", "end_date": "2026-11-22"},
                    headers=admin)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert client.put(f"/v1/cycles/{cid}/supply", headers=admin,
                      json=[{"brand_code": b, "quantity": q} for b, q in SUPPLY.items()]).status_code == 200
    caps = [{"retailer_id": r, "cap": c, "weight": float(w)} for r, (c, w) in CAPS.items()]
    assert client.put(f"/v1/cycles/{cid}/caps", headers=admin, json=caps).status_code == 200
    for rid, (channel, approved, lines) in ORDERS.items():
        body = {"channel": channel, "lines": [{"brand_code": b, "quantity": q} for b, q in lines.items()]}
        put = client.put(f"/v1/cycles/{cid}/orders/{rid}", json=body, headers=auth("account_manager", OWNER[rid]))
        assert put.status_code in (200, 201), put.text
        if approved:
            ok = client.post(f"/v1/cycles/{cid}/orders/{rid}/approve", json={"version": put.json()["version"]},
                             headers=auth("market_manager", "MM1"))
            assert ok.status_code == 200, ok.text
    early = client.post(f"/v1/cycles/{cid}/allocation-runs", headers=admin)
    assert early.status_code == 409 and early.json()["code"] == "cycle_state"
    assert client.post(f"/v1/cycles/{cid}/close", headers=admin).status_code == 200

    started = client.post(f"/v1/cycles/{cid}/allocation-runs", headers=admin)
    assert started.status_code == 202, started.text
    run = client.get(f"/v1/allocation-runs/{started.json()['run_id']}", headers=admin).json()
    assert run["status"] == "succeeded", run
    cert = run["certificate"]
    assert cert["volume"] == cert["max_volume"] == 2400 and cert["fairness_violations"] == 0
    assert [o["retailer_id"] for o in run["excluded_orders"]] == ["R4"]
    review = pull_all(client, f"/v1/allocation-runs/{run['run_id']}/allocations", admin, limit=4)
    assert "R4" not in {x["retailer_id"] for x in review}
    assert {(x["retailer_id"], x["brand_code"]): (x["demanded"], x["allocated"], x["reason"]) for x in review} \
        == EXPECTED

    assert client.post(f"/v1/allocation-runs/{run['run_id']}/publish", headers=admin).status_code == 200
    dc = auth("distribution_center")
    rows = pull_all(client, f"/v1/cycles/{cid}/allocations", dc, limit=2)
    assert rows == expected_rows()
    assert csv_rows(client.get(f"/v1/cycles/{cid}/allocations.csv", headers=dc).text) == rows
    feed = client.get("/v1/publications", headers=dc).json()["items"]
    assert [(x["cycle_id"], x["run_id"]) for x in feed] == [(cid, run["run_id"])]
    reopen = client.post(f"/v1/cycles/{cid}/reopen", headers=admin)
    assert reopen.status_code == 409


def test_a_worker_process_executes_the_run(committed_engine):
    with Session(committed_engine, expire_on_commit=False) as session:
        company = get_or_create_company(session, "workerco", "Worker company")
        add_master(session, company.id)
        cycle = add_cycle(session, company.id)
        session.commit()
        admin = Tokens(session, company.id)("admin")
    url = committed_engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, run_in_process=False), engine=committed_engine)
    client = TestClient(app, raise_server_exceptions=False)
    started = client.post(f"/v1/cycles/{cycle.id}/allocation-runs", headers=admin)
    assert started.status_code == 202, started.text
    deadline, run = time.monotonic() + 90, None
    while time.monotonic() < deadline:
        run = client.get(f"/v1/allocation-runs/{started.json()['run_id']}", headers=admin).json()
        if run["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.25)
    assert run["status"] == "succeeded", run
    assert run["started_at"] and run["certificate"]["volume"] == 2400
    rows = pull_all(client, f"/v1/allocation-runs/{run['run_id']}/allocations", admin, limit=1000)
    assert len(rows) == len(EXPECTED)
