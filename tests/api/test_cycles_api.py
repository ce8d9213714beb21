"""Cycles over HTTP: creation, status by time, close/reopen moves allowed and refused, supply, retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models.tables import AuditEvent, Cycle
from tests.worlds.caps import add_order, build_world, publish


@pytest.fixture
def world(session, company):
    return build_world(session, company.id)


NON_ADMIN = [("account_manager", "A1"), ("market_manager", "MA"), ("distribution_center", None), ("auditor", None)]
EVERY_ROLE = [("admin", None), *NON_ADMIN]


def iso(dt: datetime) -> str:
    return dt.isoformat()


def create(client, auth, name="2026-W50", start="2026-12-07", end="2026-12-13", **extra):
    return client.post("/v1/cycles", json={"name": name, "start_date": start, "end_date": end, **extra},
                       headers=auth("admin"))


def test_create_answers_the_cycle_open_from_now_by_default(client, auth, world):
    r = create(client, auth)
    assert r.status_code == 201
    body = r.json()
    assert isinstance(body["id"], str) and body["status"] == "open"
    assert (body["name"], body["start_date"], body["end_date"]) == ("2026-W50", "2026-12-07", "2026-12-13")
    assert body["closed_at"] is None and body["published_at"] is None and body["published_run_id"] is None
    opens = datetime.fromisoformat(body["opens_at"])
    assert abs((opens - datetime.now(UTC)).total_seconds()) < 60
    assert client.get(f"/v1/cycles/{body['id']}", headers=auth("auditor")).json() == body


def test_planned_until_opens_at_then_open(client, auth, world, session):
    future = create(client, auth, "later", opens_at=iso(datetime.now(UTC) + timedelta(hours=2))).json()
    past = create(client, auth, "earlier", opens_at="2026-01-01T08:00:00+08:00").json()
    assert future["status"] == "planned" and past["status"] == "open"
    assert past["opens_at"].startswith("2026-01-01T00:00:00")  # stored in UTC, same instant
    # time passing opens it, with nobody flipping it
    session.get(Cycle, int(future["id"])).opens_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    assert client.get(f"/v1/cycles/{future['id']}", headers=auth("admin")).json()["status"] == "open"


@pytest.mark.parametrize("body, word", [
    ({"name": "x", "start_date": "2026-12-13", "end_date": "2026-12-07"}, "before start_date"),
    ({"name": "x", "start_date": "2026-12-07", "end_date": "2026-12-13", "opens_at": "2026-12-01T08:00:00"},
     "timezone"),
    ({"name": "", "start_date": "2026-12-07", "end_date": "2026-12-13"}, "name"),
    ({"name": "a\nb", "start_date": "2026-12-07", "end_date": "2026-12-13"}, "control"),
    ({"name": "x", "start_date": "2026-12-07", "end_date": "2026-12-13", "status": "open"}, "status"),
])
def test_bad_cycle_bodies_are_422(client, auth, world, body, word):
    r = client.post("/v1/cycles", json=body, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request" and word in r.json()["detail"]


def test_duplicate_name_is_409(client, auth, world):
    first = create(client, auth).json()
    r = create(client, auth, start="2026-12-14", end="2026-12-20")
    assert r.status_code == 409 and r.json()["code"] == "cycle_name_taken" and r.json()["cycle_id"] == first["id"]


@pytest.mark.parametrize("role, manager", NON_ADMIN)
def test_only_admin_writes_cycles(client, auth, world, role, manager):
    cid = create(client, auth).json()["id"]
    h = auth(role, manager)
    assert create(client, lambda *_: h, "other").status_code == 403
    for path in (f"/v1/cycles/{cid}/close", f"/v1/cycles/{cid}/reopen"):
        assert client.post(path, headers=h).status_code == 403
    assert client.put(f"/v1/cycles/{cid}/supply", json=[], headers=h).status_code == 403


@pytest.mark.parametrize("role, manager", EVERY_ROLE)
def test_every_role_reads_cycles_page_by_page(client, auth, world, role, manager):
    ids = [create(client, auth, f"c{i}").json()["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        r = client.get("/v1/cycles", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                       headers=auth(role, manager))
        assert r.status_code == 200
        seen += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == ids  # oldest first, by id
    assert client.get("/v1/cycles/999999", headers=auth(role, manager)).status_code == 404
    assert client.get("/v1/cycles/abc", headers=auth(role, manager)).status_code == 404


def transitions(client, auth, cid, path):
    return client.post(f"/v1/cycles/{cid}/{path}", headers=auth("admin"))


def test_every_move_of_the_state_machine(client, auth, world, session):
    planned = create(client, auth, "p", opens_at=iso(datetime.now(UTC) + timedelta(days=1))).json()["id"]
    r = transitions(client, auth, planned, "close")
    assert r.status_code == 409 and r.json()["code"] == "cycle_state" and "planned" in r.json()["detail"]
    assert transitions(client, auth, planned, "reopen").json()["code"] == "cycle_state"

    cid = create(client, auth).json()["id"]
    r = transitions(client, auth, cid, "reopen")
    assert r.status_code == 409 and r.json()["code"] == "cycle_state" and "open" in r.json()["detail"]
    r = transitions(client, auth, cid, "close")
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_at"]
    assert transitions(client, auth, cid, "close").json()["code"] == "cycle_state"
    r = transitions(client, auth, cid, "reopen")
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["closed_at"] is None
    assert transitions(client, auth, cid, "close").status_code == 200

    # once an allocation is published, nothing moves the cycle back
    publish(session, world, int(cid), {("r1", "b1"): 1})
    session.get(Cycle, int(cid)).status = "published"
    session.commit()
    r = transitions(client, auth, cid, "reopen")
    assert r.status_code == 409 and r.json()["code"] == "cycle_published"
    assert transitions(client, auth, cid, "close").json()["code"] == "cycle_state"

    events = session.execute(select(AuditEvent.action, AuditEvent.old, AuditEvent.new)
                             .where(AuditEvent.object_type == "cycle", AuditEvent.object_id == cid)
                             .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["cycle.create", "cycle.close", "cycle.reopen", "cycle.close"]
    assert events[1].old == {"status": "open"} and events[2].new["status"] == "open"


def test_reopen_refused_when_a_publication_row_exists_even_if_status_lags(client, auth, world, session):
    cid = create(client, auth).json()["id"]
    transitions(client, auth, cid, "close")
    publish(session, world, int(cid), {("r1", "b1"): 1})
    session.commit()
    assert transitions(client, auth, cid, "reopen").json()["code"] == "cycle_published"


def test_close_refused_while_a_retailer_with_an_order_has_no_cap(client, auth, world, session):
    cid = create(client, auth).json()["id"]
    for rid in ("r3", "r1", "r4"):
        add_order(session, world, int(cid), rid, {"b1": 2})
    session.commit()
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r4", "cap": 5}], headers=auth("admin"))
    r = transitions(client, auth, cid, "close")
    assert r.status_code == 409 and r.json()["code"] == "retailers_without_cap"
    assert r.json()["retailer_ids"] == ["r1", "r3"] and "r1, r3" in r.json()["detail"]
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 0}, {"retailer_id": "r3", "cap": 9}],
               headers=auth("admin"))
    assert transitions(client, auth, cid, "close").status_code == 200


def test_closed_cycle_freezes_supply_caps_and_compute(client, auth, world):
    cid = create(client, auth).json()["id"]
    h = auth("admin")
    assert client.put(f"/v1/cycles/{cid}/supply", json=[{"brand_code": "b1", "quantity": 5}], headers=h).status_code == 200
    transitions(client, auth, cid, "close")
    for r in (client.put(f"/v1/cycles/{cid}/supply", json=[{"brand_code": "b1", "quantity": 6}], headers=h),
              client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 6}], headers=h),
              client.post(f"/v1/cycles/{cid}/caps/compute", headers=h)):
        assert r.status_code == 409 and r.json()["code"] == "cycle_state" and "closed" in r.json()["detail"]
    assert client.get(f"/v1/cycles/{cid}/supply", headers=h).json()["items"] == [{"brand_code": "b1", "quantity": 5}]


def test_supply_replaces_the_whole_list(client, auth, world, session):
    cid = create(client, auth).json()["id"]
    h = auth("admin")
    r = client.put(f"/v1/cycles/{cid}/supply", json=[{"brand_code": "b2", "quantity": 40},
                                                       {"brand_code": "b1", "quantity": 7}], headers=h)
    assert r.status_code == 200 and r.json() == {"cycle_id": cid, "specs": 2, "total": 47}
    client.put(f"/v1/cycles/{cid}/supply", json=[{"brand_code": "b1", "quantity": 9}], headers=h)
    for role in ("admin", "auditor", "distribution_center"):
        got = client.get(f"/v1/cycles/{cid}/supply", headers=auth(role)).json()
        assert got == {"items": [{"brand_code": "b1", "quantity": 9}], "next_cursor": None}
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "supply.replace")
                            .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert event.old == {"total": 47, "specs": {"b1": 7, "b2": 40}} and event.new == {"total": 9, "specs": {"b1": 9}}


@pytest.mark.parametrize("body, code, word", [
    ([{"brand_code": "zz", "quantity": 1}, {"brand_code": "b1", "quantity": 1}], "unknown_spec", "zz"),
    ([{"brand_code": "b1", "quantity": 1}, {"brand_code": "b1", "quantity": 2}], "duplicate_line", "b1"),
    ([{"brand_code": "b1", "quantity": -1}], "invalid_request", "quantity"),
    ([{"brand_code": "b1", "quantity": 1.5}], "invalid_request", "quantity"),
    ([{"brand_code": "b1", "quantity": 1, "extra": 1}], "invalid_request", "extra"),
    ({"brand_code": "b1", "quantity": 1}, "invalid_request", "list"),
])
def test_bad_supply_is_422_naming_the_problem(client, auth, world, body, code, word):
    cid = create(client, auth).json()["id"]
    r = client.put(f"/v1/cycles/{cid}/supply", json=body, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == code and word in r.json()["detail"]


@pytest.mark.parametrize("role, manager", [("account_manager", "A1"), ("market_manager", "MA")])
def test_managers_do_not_read_supply(client, auth, world, role, manager):
    cid = create(client, auth).json()["id"]
    assert client.get(f"/v1/cycles/{cid}/supply", headers=auth(role, manager)).status_code == 403


def test_retried_create_makes_one_cycle_and_a_changed_retry_is_422(client, auth, world, session):
    h = {**auth("admin"), "Idempotency-Key": "create-w50"}
    body = {"name": "W50", "start_date": "2026-12-07", "end_date": "2026-12-13"}
    first = client.post("/v1/cycles", json=body, headers=h)
    again = client.post("/v1/cycles", json=body, headers=h)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert session.execute(select(func.count()).select_from(Cycle).where(Cycle.name == "W50")).scalar() == 1
    r = client.post("/v1/cycles", json={**body, "end_date": "2026-12-14"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"


def test_retried_close_and_reopen_answer_the_first_response(client, auth, world, session):
    cid = create(client, auth).json()["id"]
    h = {**auth("admin"), "Idempotency-Key": "close-1"}
    first = client.post(f"/v1/cycles/{cid}/close", headers=h)
    again = client.post(f"/v1/cycles/{cid}/close", headers=h)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    closes = session.execute(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "cycle.close", AuditEvent.object_id == cid)).scalar()
    assert closes == 1
    h2 = {**auth("admin"), "Idempotency-Key": "reopen-1"}
    r1, r2 = (client.post(f"/v1/cycles/{cid}/reopen", headers=h2) for _ in range(2))
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json() and r1.json()["status"] == "open"
    assert r2.headers.get("idempotent-replayed") == "true"
    assert client.post(f"/v1/cycles/{cid}/reopen", headers=h2, json={"x": 1}).json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "键"])
def test_a_malformed_idempotency_key_is_refused_before_anything_is_done(client, auth, world, session, key):
    body = {"name": "W51", "start_date": "2026-12-14", "end_date": "2026-12-20"}
    r = client.post("/v1/cycles", json=body, headers={**auth("admin"), "Idempotency-Key": key.encode()})
    assert r.status_code == 422 and r.json()["code"] == "invalid_idempotency_key"
    assert "1 to 200 visible ASCII characters" in r.json()["detail"]
    assert session.execute(select(func.count()).select_from(Cycle).where(Cycle.name == "W51")).scalar() == 0


def test_every_post_declares_the_idempotency_key_it_accepts(client):
    paths = client.get("/openapi.json").json()["paths"]
    posts = {path: ops["post"] for path, ops in paths.items() if "post" in ops}
    assert posts
    for path, op in posts.items():
        keys = [p for p in op.get("parameters", []) if p["name"] == "Idempotency-Key" and p["in"] == "header"]
        assert len(keys) == 1 and not keys[0]["required"], path
        assert keys[0]["schema"]["pattern"] == r"^[\x21-\x7e]{1,200}$", path
