"""Cap adjustments over HTTP: moves within one manager's total, pending until his market manager approves."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from models.tables import AuditEvent, Cap, CapAdjustment
from tests.worlds.caps import W50, add_cycle, build_world


@pytest.fixture
def world(session, company):
    return build_world(session, company.id)


START = {"r1": 10, "r2": 5, "r3": 7, "r4": 7, "r5": 10}


@pytest.fixture
def cid(client, auth, session, world) -> str:
    cycle_id = str(add_cycle(session, world, "W50", W50))
    session.commit()
    r = client.put(f"/v1/cycles/{cycle_id}/caps", json=[{"retailer_id": k, "cap": v} for k, v in START.items()],
                   headers=auth("admin"))
    assert r.status_code == 200
    return cycle_id


def caps(session, cid) -> dict[str, int]:
    session.expire_all()
    return dict(session.execute(select(Cap.retailer_id, Cap.cap).where(Cap.cycle_id == int(cid))).all())


def propose(client, auth, cid, moves, manager="A1", reason="r2 runs out by month end", **headers):
    body = {"moves": [{"from_retailer_id": a, "to_retailer_id": b, "quantity": q} for a, b, q in moves],
            "reason": reason}
    return client.post(f"/v1/cycles/{cid}/cap-adjustments", json=body,
                       headers={**auth("account_manager", manager), **headers})


def approve(client, auth, adj_id, manager="MA", **headers):
    return client.post(f"/v1/cap-adjustments/{adj_id}/approve", headers={**auth("market_manager", manager), **headers})


def test_moves_wait_for_approval_then_apply_keeping_the_managers_total(client, auth, world, cid, session):
    r = propose(client, auth, cid, [("r1", "r2", 4), ("r3", "r2", 2), ("r1", "r3", 1)])
    assert r.status_code == 201, r.text
    adj = r.json()
    assert adj["status"] == "pending" and adj["manager_id"] == "A1" and adj["reason"] == "r2 runs out by month end"
    assert adj["moves"][0] == {"from_retailer_id": "r1", "to_retailer_id": "r2", "quantity": 4}
    assert caps(session, cid) == START  # nothing moves while pending

    r = approve(client, auth, adj["id"])
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["decided_by"]
    after = caps(session, cid)
    assert after == {**START, "r1": 5, "r2": 11, "r3": 6}  # r1 -4-1, r2 +4+2, r3 -2+1
    mine = ("r1", "r2", "r3")
    assert sum(after[k] for k in mine) == sum(START[k] for k in mine)
    cap = session.get(Cap, (int(cid), "r2"))
    assert cap.source == "adjusted" and cap.basis["adjustments"][-1]["adjustment_id"] == adj["id"]
    assert cap.basis["adjustments"][-1]["from"] == 5 and cap.basis["adjustments"][-1]["to"] == 11
    assert session.get(Cap, (int(cid), "r4")).source == "set"

    events = session.execute(select(AuditEvent).where(AuditEvent.object_type == "cap_adjustment")
                             .order_by(AuditEvent.id)).scalars().all()
    assert [e.action for e in events] == ["cap_adjustment.create", "cap_adjustment.approve"]
    assert events[1].old == {"status": "pending", "caps": {"r1": 10, "r2": 5, "r3": 7}}
    assert events[1].new == {"status": "approved", "caps": {"r1": 5, "r2": 11, "r3": 6}}
    assert events[1].reason == "r2 runs out by month end" and events[1].actor_role == "market_manager"

    again = approve(client, auth, adj["id"])
    assert again.status_code == 409 and again.json()["code"] == "adjustment_decided"


def test_random_rounds_of_moves_conserve_the_total(client, auth, world, cid, session):
    rng = random.Random(5)
    mine = ["r1", "r2", "r3"]
    expected = {k: START[k] for k in mine}
    for _ in range(6):
        a, b = rng.sample(mine, 2)
        q = rng.randint(0, expected[a])
        if q == 0:
            continue
        adj = propose(client, auth, cid, [(a, b, q)]).json()
        assert approve(client, auth, adj["id"]).status_code == 200
        expected[a] -= q
        expected[b] += q
        got = caps(session, cid)
        assert {k: got[k] for k in mine} == expected and sum(expected.values()) == 22


def test_giving_more_than_the_cap_is_409(client, auth, world, cid, session):
    r = propose(client, auth, cid, [("r2", "r1", 3), ("r2", "r3", 3)])  # r2 has 5
    assert r.status_code == 409 and r.json()["code"] == "adjustment_exceeds_cap" and r.json()["retailer_ids"] == ["r2"]
    assert session.execute(select(func.count()).select_from(CapAdjustment)).scalar() == 0


def test_approval_rechecks_caps_that_changed_meanwhile(client, auth, world, cid, session):
    first = propose(client, auth, cid, [("r1", "r2", 8)]).json()
    second = propose(client, auth, cid, [("r1", "r3", 8)]).json()  # each fits r1's 10 alone, not both
    assert approve(client, auth, first["id"]).status_code == 200
    r = approve(client, auth, second["id"])
    assert r.status_code == 409 and r.json()["code"] == "cap_would_go_negative" and r.json()["retailer_ids"] == ["r1"]
    assert caps(session, cid)["r1"] == 2
    assert client.get(f"/v1/cap-adjustments/{second['id']}", headers=auth("admin")).json()["status"] == "pending"
    assert client.post(f"/v1/cap-adjustments/{second['id']}/reject", json={"reason": "too much"},
                       headers=auth("market_manager", "MA")).json()["status"] == "rejected"
    assert caps(session, cid)["r1"] == 2


def test_another_managers_retailer_is_404(client, auth, world, cid):
    for moves in ([("r1", "r4", 1)], [("r4", "r1", 1)], [("r1", "nope", 1)]):
        r = propose(client, auth, cid, moves)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert propose(client, auth, cid, [("r1", "r2", 1)], manager="A2").status_code == 404


def test_another_market_manager_gets_404_and_others_403(client, auth, world, cid, session):
    adj = propose(client, auth, cid, [("r1", "r2", 1)]).json()
    r = approve(client, auth, adj["id"], manager="MB")
    assert r.status_code == 404
    for role, manager in (("account_manager", "A1"), ("admin", None), ("auditor", None), ("distribution_center", None)):
        assert client.post(f"/v1/cap-adjustments/{adj['id']}/approve", headers=auth(role, manager)).status_code == 403
    assert caps(session, cid) == START
    assert client.post("/v1/cap-adjustments/999999/approve", headers=auth("market_manager", "MA")).status_code == 404


@pytest.mark.parametrize("role, manager", [("admin", None), ("market_manager", "MA"), ("auditor", None),
                                           ("distribution_center", None)])
def test_only_account_managers_propose(client, auth, world, cid, role, manager):
    r = client.post(f"/v1/cycles/{cid}/cap-adjustments", headers=auth(role, manager),
                    json={"moves": [{"from_retailer_id": "r1", "to_retailer_id": "r2", "quantity": 1}], "reason": "x"})
    assert r.status_code == 403


@pytest.mark.parametrize("moves, reason, word", [
    ([("r1", "r1", 1)], "x", "differ"),
    ([("r1", "r2", 0)], "x", "quantity"),
    ([("r1", "r2", 1.5)], "x", "quantity"),
    ([], "x", "moves"),
    ([("r1", "r2", 1)], "", "reason"),
])
def test_bad_adjustments_are_422(client, auth, world, cid, moves, reason, word):
    r = propose(client, auth, cid, moves, reason=reason)
    assert r.status_code == 422 and word in r.json()["detail"]


def test_moving_cap_to_a_suspended_retailer_is_409(client, auth, world, cid):
    r = propose(client, auth, cid, [("r1", "r6", 1)])
    assert r.status_code == 409 and r.json()["code"] == "retailer_suspended"


def test_adjustments_freeze_with_the_cycle(client, auth, world, cid):
    adj = propose(client, auth, cid, [("r1", "r2", 1)]).json()
    assert client.post(f"/v1/cycles/{cid}/close", headers=auth("admin")).status_code == 200
    r = approve(client, auth, adj["id"])
    assert r.status_code == 409 and r.json()["code"] == "cycle_state"
    assert propose(client, auth, cid, [("r1", "r2", 1)]).json()["code"] == "cycle_state"


def test_lists_show_each_caller_what_is_his(client, auth, world, cid):
    a1 = propose(client, auth, cid, [("r1", "r2", 1)]).json()["id"]
    assert client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r5", "cap": 10}],
                      headers=auth("admin")).status_code == 200
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r4", "cap": 7}], headers=auth("admin"))

    def ids(role, manager=None, **params):
        r = client.get(f"/v1/cycles/{cid}/cap-adjustments", headers=auth(role, manager), params=params)
        assert r.status_code == 200
        return [a["id"] for a in r.json()["items"]]

    a2 = client.post(f"/v1/cycles/{cid}/cap-adjustments", headers=auth("account_manager", "A2"),
                     json={"moves": [{"from_retailer_id": "r4", "to_retailer_id": "r4", "quantity": 1}],
                           "reason": "x"})
    assert a2.status_code == 422  # A2 has one retailer: nothing to move between
    assert ids("admin") == [a1] and ids("auditor", status="pending") == [a1] and ids("auditor", status="approved") == []
    assert ids("account_manager", "A1") == [a1] and ids("account_manager", "A2") == []
    assert ids("market_manager", "MA") == [a1] and ids("market_manager", "MB") == []
    assert client.get(f"/v1/cap-adjustments/{a1}", headers=auth("market_manager", "MB")).status_code == 404
    assert client.get(f"/v1/cap-adjustments/{a1}", headers=auth("account_manager", "A2")).status_code == 404
    assert client.get(f"/v1/cycles/{cid}/cap-adjustments", headers=auth("distribution_center")).status_code == 403


def test_retried_proposal_and_approval_take_effect_once(client, auth, world, cid, session):
    first = propose(client, auth, cid, [("r1", "r2", 2)], **{"Idempotency-Key": "adj-1"})
    again = propose(client, auth, cid, [("r1", "r2", 2)], **{"Idempotency-Key": "adj-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert session.execute(select(func.count()).select_from(CapAdjustment)).scalar() == 1
    changed = propose(client, auth, cid, [("r1", "r2", 3)], **{"Idempotency-Key": "adj-1"})
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    adj_id = first.json()["id"]
    one = approve(client, auth, adj_id, **{"Idempotency-Key": "ok-1"})
    two = approve(client, auth, adj_id, **{"Idempotency-Key": "ok-1"})
    assert one.status_code == two.status_code == 200 and one.json() == two.json()
    assert caps(session, cid)["r2"] == 7


def test_reject_is_for_the_team_market_manager_only(client, auth, world, cid, session):
    adj = propose(client, auth, cid, [("r1", "r2", 1)]).json()
    path = f"/v1/cap-adjustments/{adj['id']}/reject"
    for role, manager in (("account_manager", "A1"), ("admin", None), ("auditor", None), ("distribution_center", None)):
        assert client.post(path, headers=auth(role, manager)).status_code == 403
    assert client.post(path, headers=auth("market_manager", "MB")).status_code == 404
    assert client.get(f"/v1/cap-adjustments/{adj['id']}", headers=auth("distribution_center")).status_code == 403
    r = client.post(path, headers=auth("market_manager", "MA"))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert approve(client, auth, adj["id"]).json()["code"] == "adjustment_decided"
    assert caps(session, cid) == START
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "cap_adjustment.reject")).scalar_one()
    assert event.old == {"status": "pending"} and event.new == {"status": "rejected"}
