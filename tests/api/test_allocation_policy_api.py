"""The allocation policy over HTTP: version 1 puts volume first, PUT adds audited versions, bad bodies are 422.

Every role against both routes is in tests/reliability/test_authz_matrix.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.tables import AuditEvent


@pytest.fixture
def h(auth, company):
    return {"admin": auth("admin"), "auditor": auth("auditor")}


def test_a_fresh_company_puts_volume_first(client, h):
    for role in ("admin", "auditor"):
        r = client.get("/v1/allocation-policy", headers=h[role])
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1 and r.json()["params"] == {"priority": "volume"}
        assert r.json()["created_by"] is None


def test_put_adds_a_version_audited_and_a_repeat_changes_nothing(client, h, session):
    r = client.put("/v1/allocation-policy", json={"priority": "choice"}, headers=h["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["params"] == {"priority": "choice"}
    assert r.json()["created_by"] is not None
    assert client.put("/v1/allocation-policy", json={"priority": "choice"}, headers=h["admin"]).json()["version"] == 2
    assert client.get("/v1/allocation-policy", headers=h["auditor"]).json() == r.json()
    back = client.put("/v1/allocation-policy", json={}, headers=h["admin"])  # an omitted field takes its default
    assert back.json()["version"] == 3 and back.json()["params"] == {"priority": "volume"}
    events = session.execute(select(AuditEvent).where(AuditEvent.action == "allocation_policy.update")
                             .order_by(AuditEvent.id)).scalars().all()
    assert [(e.old["params"]["priority"], e.new["params"]["priority"]) for e in events] == [
        ("volume", "choice"), ("choice", "volume")]
    assert [(e.object_type, e.object_id) for e in events] == [("allocation_policy", "2"), ("allocation_policy", "3")]


@pytest.mark.parametrize("body, word", [({"priority": "fairness"}, "priority"), ({"priority": None}, "priority"),
                                        ({"priority": "volume", "floor": 1}, "floor"), ([1], "")])
def test_bad_bodies_are_422_and_change_nothing(client, h, body, word):
    r = client.put("/v1/allocation-policy", json=body, headers=h["admin"])
    assert r.status_code == 422 and set(r.json()) == {"detail", "code"} and word in r.json()["detail"]
    assert client.get("/v1/allocation-policy", headers=h["admin"]).json()["version"] == 1


def test_other_roles_may_not_read_it_and_only_admin_writes(client, auth, company):
    assert client.get("/v1/allocation-policy", headers=auth("distribution_center")).status_code == 403
    assert client.put("/v1/allocation-policy", json={"priority": "choice"},
                      headers=auth("distribution_center")).status_code == 403
    r = client.put("/v1/allocation-policy", json={"priority": "choice"}, headers=auth("auditor"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get("/v1/allocation-policy").status_code == 401
