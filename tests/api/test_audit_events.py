"""The audit route: read-only, filtered, paged in the order things happened, every field an auditor needs."""

from __future__ import annotations

from datetime import datetime


from models import audit
from models.users import Principal, create_user
from tests.worlds.orders import body, order_url


def test_events_fields_filters_and_pages(client, orders_world, auth, session, company):
    am = auth("account_manager", "M1")
    c = orders_world["open"]
    for q in (1, 2, 3):
        client.put(order_url(c, "R2"), json=body(("B1", q)), headers=am)
    client.put(order_url(c, "R1"), json=body(("B1", 1)), headers=am)
    admin, _ = create_user(session, company.id, "admin", name="cap-admin")
    who = Principal(admin.id, company.id, "admin", "cap-admin")
    audit.record(session, who, "cap.set", "cap", f"{c}/R1", {"cap": 1},
                 {"cap": 2}, reason="surge")
    session.commit()
    headers = auth("auditor")
    got = client.get("/v1/audit-events", params={"object_id": f"{c}/R2"}, headers=headers).json()["items"]
    assert [(e["action"], e["new"]["total"]) for e in got] == [("order.create", 1), ("order.replace", 2),
                                                               ("order.replace", 3)]
    assert [e["old"] and e["old"]["total"] for e in got] == [None, 1, 2]
    first = got[0]
    assert set(first) == {"id", "at", "actor_user_id", "actor_role", "action", "object_type", "object_id", "old",
                          "new", "reason"}
    assert isinstance(first["id"], str) and isinstance(first["actor_user_id"], str)
    assert datetime.fromisoformat(first["at"]).utcoffset() is not None
    capped = client.get("/v1/audit-events", params={"object_type": "cap"}, headers=auth("admin")).json()["items"]
    assert [(e["action"], e["reason"], e["old"], e["new"]) for e in capped] == [("cap.set", "surge", {"cap": 1},
                                                                                 {"cap": 2})]
    assert client.get("/v1/audit-events", params={"action": "order.create"}, headers=headers).json()["items"][1][
        "object_id"] == f"{c}/R1"
    ids, cursor = [], None
    while True:
        page = client.get("/v1/audit-events", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                          headers=headers).json()
        ids += [int(e["id"]) for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(ids) == 5 and ids == sorted(ids) and len(set(ids)) == 5


def test_bad_paging_is_422(client, orders_world, auth):
    headers = auth("auditor")
    assert client.get("/v1/audit-events", params={"limit": 1001}, headers=headers).status_code == 422
    assert client.get("/v1/audit-events", params={"limit": 0}, headers=headers).status_code == 422
    r = client.get("/v1/audit-events", params={"cursor": "not-ours"}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"


def test_audit_is_read_only(client, orders_world, auth):
    for method in ("post", "put", "delete"):
        r = getattr(client, method)("/v1/audit-events", headers=auth("auditor"))
        assert r.status_code == 405
