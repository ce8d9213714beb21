"""Runs over HTTP: states the contract forbids, idempotent starts, publishing once, roles, the lease sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.settings import Settings
from models.tables import AuditEvent, Cycle
from models.tables_runs import AllocationRun, Publication
from models.types import utcnow
from tests.worlds.runs import EXPECTED, add_cycle, add_master, pull_all, queue_run



def start(client, auth, cycle_id, **headers):
    return client.post(f"/v1/cycles/{cycle_id}/allocation-runs", headers={**auth("admin"), **headers})


def test_run_through_the_api_then_publish(client, auth, session, run_world):
    r = start(client, auth, run_world.id)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and r.headers["location"] == f"/v1/allocation-runs/{body['run_id']}"
    run = client.get(f"/v1/allocation-runs/{body['run_id']}", headers=auth("auditor")).json()
    assert run["status"] == "succeeded" and run["cycle_id"] == str(run_world.id)
    assert run["certificate"]["volume"] == run["certificate"]["max_volume"] == 2400
    assert run["certificate"]["fairness_violations"] == 0
    assert [o["retailer_id"] for o in run["excluded_orders"]] == ["R4"]
    assert run["totals"]["allocated"] == 2400 and run["timings"]["total_s"] >= 0

    rows = pull_all(client, f"/v1/allocation-runs/{body['run_id']}/allocations", auth("admin"), limit=3)
    assert {(x["retailer_id"], x["brand_code"]): (x["demanded"], x["allocated"], x["reason"]) for x in rows} \
        == EXPECTED and len(rows) == len(EXPECTED)
    listed = client.get(f"/v1/cycles/{run_world.id}/allocation-runs", headers=auth("admin")).json()
    assert [x["run_id"] for x in listed["items"]] == [body["run_id"]]

    p = client.post(f"/v1/allocation-runs/{body['run_id']}/publish", headers=auth("admin"))
    assert p.status_code == 200, p.text
    assert p.json()["run_id"] == body["run_id"] and p.json()["cycle_id"] == str(run_world.id)
    cycle = client.get(f"/v1/cycles/{run_world.id}", headers=auth("auditor")).json()
    assert cycle["status"] == "published" and cycle["published_run_id"] == body["run_id"]
    again = client.post(f"/v1/allocation-runs/{body['run_id']}/publish", headers=auth("admin"))
    assert again.status_code == 409 and again.json()["code"] == "already_published"
    assert start(client, auth, run_world.id).json()["code"] == "cycle_state"
    events = session.execute(select(AuditEvent.action).where(AuditEvent.object_id.in_(
        [body["run_id"], str(run_world.id)]))).scalars().all()
    assert "allocation_run.start" in events and "cycle.publish" in events


@pytest.mark.parametrize("status", ["planned", "open"])
def test_no_run_unless_closed(client, auth, session, company, status):
    add_master(session, company.id)
    cycle = add_cycle(session, company.id, status=status)
    session.commit()
    r = start(client, auth, cycle.id)
    assert r.status_code == 409 and r.json()["code"] == "cycle_state"
    assert session.execute(select(AllocationRun)).first() is None


def test_second_run_while_one_is_queued_is_409(client, auth, session, company, run_world):
    queued = queue_run(session, company.id, run_world.id)
    r = start(client, auth, run_world.id)
    assert r.status_code == 409 and r.json()["code"] == "run_in_progress" and r.json()["run_id"] == str(queued)


def test_a_failed_run_cannot_be_published_and_frees_the_cycle(client, auth, session, company, run_world, monkeypatch):
    import allocation.engine

    def broken(problem, **options):
        raise RuntimeError("boom")

    monkeypatch.setattr(allocation.engine, "allocate", broken)
    run_id = start(client, auth, run_world.id).json()["run_id"]
    run = client.get(f"/v1/allocation-runs/{run_id}", headers=auth("admin")).json()
    assert run["status"] == "failed" and "RuntimeError" in run["error"]
    p = client.post(f"/v1/allocation-runs/{run_id}/publish", headers=auth("admin"))
    assert p.status_code == 409 and p.json()["code"] == "run_not_succeeded"
    monkeypatch.undo()
    assert client.get(f"/v1/cycles/{run_world.id}", headers=auth("admin")).json()["status"] == "closed"
    second = start(client, auth, run_world.id)
    assert second.status_code == 202
    assert client.get(f"/v1/allocation-runs/{second.json()['run_id']}", headers=auth("admin")).json()["status"] \
        == "succeeded"


def test_a_queued_run_cannot_be_published(client, auth, session, company, run_world):
    run_id = queue_run(session, company.id, run_world.id)
    p = client.post(f"/v1/allocation-runs/{run_id}/publish", headers=auth("admin"))
    assert p.status_code == 409 and p.json()["code"] == "run_not_succeeded" and p.json()["status"] == "queued"


def test_a_run_from_before_a_reopen_is_stale(client, auth, session, run_world):
    run_id = start(client, auth, run_world.id).json()["run_id"]
    session.execute(update(Cycle).where(Cycle.id == run_world.id).values(closed_at=utcnow()))  # reopened, closed again
    session.commit()
    p = client.post(f"/v1/allocation-runs/{run_id}/publish", headers=auth("admin"))
    assert p.status_code == 409 and p.json()["code"] == "run_stale"
    assert session.execute(select(Publication)).first() is None


def test_publishing_on_a_reopened_cycle_is_409(client, auth, session, run_world):
    run_id = start(client, auth, run_world.id).json()["run_id"]
    session.execute(update(Cycle).where(Cycle.id == run_world.id).values(status="open", closed_at=None))
    session.commit()
    p = client.post(f"/v1/allocation-runs/{run_id}/publish", headers=auth("admin"))
    assert p.status_code == 409 and p.json()["code"] == "cycle_state"


def test_a_retried_start_returns_the_first_run(client, auth, session, run_world):
    first = start(client, auth, run_world.id, **{"Idempotency-Key": "run-w47"})
    again = start(client, auth, run_world.id, **{"Idempotency-Key": "run-w47"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert len(session.execute(select(AllocationRun.id)).all()) == 1
    pub = [client.post(f"/v1/allocation-runs/{first.json()['run_id']}/publish",
                       headers={**auth("admin"), "Idempotency-Key": "pub-w47"}) for _ in range(2)]
    assert pub[0].status_code == pub[1].status_code == 200 and pub[0].json() == pub[1].json()


def test_roles_on_run_routes(client, auth, session, company, run_world):
    run_id = queue_run(session, company.id, run_world.id)
    reads = [f"/v1/cycles/{run_world.id}/allocation-runs", f"/v1/allocation-runs/{run_id}",
             f"/v1/allocation-runs/{run_id}/allocations"]
    writes = [f"/v1/cycles/{run_world.id}/allocation-runs", f"/v1/allocation-runs/{run_id}/publish"]
    others = [auth("account_manager", "M1"), auth("market_manager", "MM1"), auth("distribution_center")]
    for path in reads:
        assert client.get(path).status_code == 401
        for headers in others:
            assert client.get(path, headers=headers).status_code == 403, path
        for role in ("admin", "auditor"):
            assert client.get(path, headers=auth(role)).status_code == 200, path
    for path in writes:
        assert client.post(path).status_code == 401
        for headers in [*others, auth("auditor")]:
            assert client.post(path, headers=headers).status_code == 403, path
    for path in ("/v1/allocation-runs/999999", "/v1/allocation-runs/abc", "/v1/allocation-runs/999999/allocations",
                 "/v1/cycles/999999/allocation-runs"):
        r = client.get(path, headers=auth("auditor"))
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    assert client.post("/v1/allocation-runs/999999/publish", headers=auth("admin")).status_code == 404
    assert client.post("/v1/cycles/999999/allocation-runs", headers=auth("admin")).status_code == 404
    assert client.get(reads[0], params={"limit": 1001}, headers=auth("admin")).status_code == 422


def test_starting_leaves_live_runs_alone_and_fails_expired_ones(committed_engine):
    from sqlmodel import Session

    from models import leases
    from models.users import get_or_create_company
    from tests.conftest import Tokens

    with Session(committed_engine, expire_on_commit=False) as session:
        company = get_or_create_company(session, "sweepco", "Sweep company")
        add_master(session, company.id)
        live_cycle, lost_cycle = (add_cycle(session, company.id, name=n).id for n in ("live", "lost"))
        session.commit()
        live, lost = (queue_run(session, company.id, c) for c in (live_cycle, lost_cycle))
        for run_id in (live, lost):
            leases.claim(session, AllocationRun, run_id, "elsewhere", lease_s=60)
        session.execute(update(AllocationRun).where(AllocationRun.id == lost)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
        admin = Tokens(session, company.id)("admin")
    app = create_app(Settings(database_url="sqlite://", run_in_process=True), engine=committed_engine)
    with TestClient(app) as client:  # starting sweeps once at once
        assert client.get(f"/v1/allocation-runs/{live}", headers=admin).json()["status"] == "running"
        failed = client.get(f"/v1/allocation-runs/{lost}", headers=admin).json()
        assert (failed["status"], failed["error_code"]) == ("failed", "executor_lost")
        assert client.post(f"/v1/cycles/{live_cycle}/allocation-runs", headers=admin).status_code == 409
        again = client.post(f"/v1/cycles/{lost_cycle}/allocation-runs", headers=admin)
        assert again.status_code == 202
        assert client.get(f"/v1/allocation-runs/{again.json()['run_id']}", headers=admin).json()["status"] \
            == "succeeded"
