"""Forecast PUT/GET over HTTP: planned cycles only, a manager for himself only, history and audit kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from models.tables import AuditEvent, Cycle
from tests.worlds.forecasts import Seed

URL = "/v1/cycles/{c}/forecasts/{m}"


@pytest.fixture
def world(session, company):
    s = Seed(session, company.id)
    s.managers({"M1": "MM1", "M2": "MM1", "M3": "MM2"})
    s.brands({"K": True, "A": False, "B": False})
    s.retailers({"R1": "M1"})
    planned = s.cycle("w10", date(2025, 6, 2), status="planned", opens_in_days=3)
    opened = s.cycle("w9", date(2025, 5, 26), status="planned", opens_in_days=-1)
    session.commit()
    return {"planned": planned, "opened": opened, "seed": s}


def put(client, headers, c, m, body):
    return client.put(URL.format(c=c, m=m), json=body, headers=headers)


def test_manager_forecasts_himself_and_reads_it_back(client, auth, world):
    me = auth("account_manager", "M1")
    r = put(client, me, world["planned"], "M1", {"lines": [{"brand_code": "K", "quantity": 12},
                                                         {"brand_code": "A", "quantity": 0}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["cycle_id"] == str(world["planned"]) and body["manager_id"] == "M1"
    assert body["lines"] == [{"brand_code": "A", "quantity": 0}, {"brand_code": "K", "quantity": 12}]
    assert body["total"] == 12
    stamp = datetime.fromisoformat(body["submitted_at"])
    assert stamp.tzinfo is not None and abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
    got = client.get(URL.format(c=world["planned"], m="M1"), headers=me)
    assert got.status_code == 200 and got.json() == body


def test_forecasts_close_when_orders_open(client, auth, world, session):
    me = auth("account_manager", "M1")
    r = put(client, me, world["opened"], "M1", {"lines": [{"brand_code": "K", "quantity": 1}]})
    assert r.status_code == 409 and r.json()["code"] == "cycle_state" and r.json()["status"] == "open"
    assert "forecasts close when orders open" in r.json()["detail"]
    for status in ("closed", "published"):
        session.get(Cycle, world["opened"]).status = status
        session.commit()
        r = put(client, me, world["opened"], "M1", {"lines": []})
        assert r.status_code == 409 and r.json()["status"] == status
    # the planned cycle is accepted, and refused the moment its opens_at has passed
    assert put(client, me, world["planned"], "M1", {"lines": []}).status_code == 200
    session.get(Cycle, world["planned"]).opens_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    assert put(client, me, world["planned"], "M1", {"lines": []}).status_code == 409


def test_another_managers_forecast_is_404_and_other_roles_403(client, auth, world):
    body = {"lines": [{"brand_code": "K", "quantity": 1}]}
    r = put(client, auth("account_manager", "M1"), world["planned"], "M2", body)
    assert r.status_code == 404
    assert put(client, auth("account_manager", "M1"), world["planned"], "NOPE", body).json()["code"] == r.json()["code"]
    for role, mid in [("admin", None), ("auditor", None), ("distribution_center", None), ("market_manager", "MM1")]:
        r = put(client, auth(role, mid), world["planned"], "M1", body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", role
    # 403 comes before a malformed body
    assert put(client, auth("admin"), world["planned"], "M1", {"lines": "x"}).status_code == 403
    assert put(client, {}, world["planned"], "M1", body).status_code == 401
    assert put(client, auth("account_manager", "M1"), 999999, "M1", body).status_code == 404


@pytest.mark.parametrize("body", [
    {"lines": [{"brand_code": "K", "quantity": -1}]},
    {"lines": [{"brand_code": "K", "quantity": 1.5}]},
    {"lines": [{"brand_code": "K", "quantity": "3"}]},
    {"lines": [{"brand_code": "K", "quantity": True}]},
    {"lines": [{"brand_code": "K", "quantity": 10_000_001}]},
    {"lines": [{"brand_code": "ZZ", "quantity": 1}]},
    {"lines": [{"brand_code": "K", "quantity": 1}, {"brand_code": "K", "quantity": 2}]},
    {"lines": [{"brand_code": "K", "quantity": 1, "floor": 1}]},
    {"lines": [{"brand_code": "K\n", "quantity": 1}]},
    {"lines": [], "note": "x"},
    {},
])
def test_malformed_forecasts_are_422_before_404(client, auth, world, body):
    me = auth("account_manager", "M1")
    r = put(client, me, world["planned"], "M1", body)
    assert r.status_code == 422 and set(r.json()) >= {"detail", "code"}
    # 422 wins over 404 (another manager) but not over 403
    assert put(client, me, world["planned"], "M2", body).status_code == 422
    assert client.get(URL.format(c=world["planned"], m="M1"), headers=me).status_code == 404


def test_history_is_kept_and_audited(client, auth, world, session):
    me = auth("account_manager", "M1")
    c = world["planned"]
    v1 = put(client, me, c, "M1", {"lines": [{"brand_code": "K", "quantity": 10}]}).json()
    v2 = put(client, me, c, "M1", {"lines": [{"brand_code": "A", "quantity": 3}, {"brand_code": "K", "quantity": 8}]}).json()
    same = put(client, me, c, "M1", {"lines": [{"brand_code": "K", "quantity": 8}, {"brand_code": "A", "quantity": 3}]})
    assert (v1["version"], v2["version"], same.json()["version"]) == (1, 2, 2)
    assert same.json()["submitted_at"] == v2["submitted_at"] and v2["submitted_at"] >= v1["submitted_at"]
    assert client.get(URL.format(c=c, m="M1"), params={"version": 1}, headers=me).json() == v1
    assert client.get(URL.format(c=c, m="M1"), params={"version": 3}, headers=me).status_code == 404
    assert client.get(URL.format(c=c, m="M1"), params={"version": 0}, headers=me).status_code == 422
    pages, cursor = [], None
    while True:
        r = client.get(URL.format(c=c, m="M1") + "/versions", params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                       headers=auth("auditor"))
        pages += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert pages == [v1, v2]
    events = session.execute(select(AuditEvent).where(AuditEvent.object_type == "forecast")
                             .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.object_id, e.actor_role) for e in events] == [("forecast.replace", f"{c}/M1", "account_manager")] * 2
    assert events[0].old is None and events[0].new == {"version": 1, "total": 10, "lines": {"K": 10}}
    assert events[1].old == events[0].new and events[1].new == {"version": 2, "total": 11, "lines": {"A": 3, "K": 8}}


def test_who_may_read_a_forecast(client, auth, world):
    c = world["planned"]
    put(client, auth("account_manager", "M1"), c, "M1", {"lines": [{"brand_code": "K", "quantity": 4}]})
    url = URL.format(c=c, m="M1")
    for role, mid in [("account_manager", "M1"), ("market_manager", "MM1"), ("auditor", None), ("admin", None)]:
        assert client.get(url, headers=auth(role, mid)).status_code == 200, role
        assert client.get(url + "/versions", headers=auth(role, mid)).status_code == 200, role
    for role, mid in [("account_manager", "M2"), ("market_manager", "MM2")]:
        assert client.get(url, headers=auth(role, mid)).status_code == 404, role
        assert client.get(url + "/versions", headers=auth(role, mid)).status_code == 404, role
    assert client.get(url, headers=auth("distribution_center")).status_code == 403
    # M2 has no forecast: 404 for those who may see him
    assert client.get(URL.format(c=c, m="M2"), headers=auth("auditor")).json()["code"] == "forecast_not_found"


def test_cycle_forecast_list_is_scoped(client, auth, world):
    c = world["planned"]
    for m in ("M1", "M2", "M3"):
        put(client, auth("account_manager", m), c, m, {"lines": [{"brand_code": "K", "quantity": 2},
                                                                 {"brand_code": "B", "quantity": 1}]})
    url = f"/v1/cycles/{c}/forecasts"

    def ids(headers, **params):
        r = client.get(url, headers=headers, params=params)
        assert r.status_code == 200
        return [x["manager_id"] for x in r.json()["items"]]

    assert ids(auth("auditor")) == ["M1", "M2", "M3"]
    assert ids(auth("market_manager", "MM1")) == ["M1", "M2"]
    assert ids(auth("market_manager", "MM2")) == ["M3"]
    assert ids(auth("account_manager", "M2")) == ["M2"]
    assert ids(auth("account_manager", "M2"), manager_id="M1") == []
    item = client.get(url, headers=auth("admin"), params={"limit": 1}).json()
    assert item["items"][0]["total"] == 3 and item["items"][0]["lines"] == 2 and item["next_cursor"]
