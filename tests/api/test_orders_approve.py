"""Sign-off of collected orders, the order list with statuses, one order, its versions, and approved demand."""

from __future__ import annotations

import pandas as pd
import pytest

from models.orders import approved_demand
from models.tables import Cycle
from models.tables_demand import Order
from tests.worlds.orders import body, order_url


@pytest.fixture
def mm(auth):
    return auth("market_manager", "MM1")


def approve(client, cycle, retailer, version, headers, **extra):
    return client.post(order_url(cycle, retailer, "/approve"), json={"version": version}, headers={**headers, **extra})


def test_approve_collected_then_replacement_clears(client, orders_world, am, mm, session, company):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 5), channel="collected"), headers=am)
    client.put(order_url(c, "R1"), json=body(("B1", 6), channel="collected"), headers=am)
    stale = approve(client, c, "R1", 1, mm)
    assert stale.status_code == 409 and stale.json()["code"] == "version_mismatch"
    ok = approve(client, c, "R1", 2, mm)
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["approved_version"] == 2
    assert ok.headers["etag"] == '"2"'
    frame, left = approved_demand(session, company.id, c)
    assert frame.to_dict("records") == [{"retailer_id": "R1", "brand_code": "B1", "quantity": 6}] and left == []
    again = client.put(order_url(c, "R1"), json=body(("B1", 7), channel="collected"), headers=am).json()
    assert again["version"] == 3 and again["status"] == "pending_approval" and again["approved_version"] is None
    frame, left = approved_demand(session, company.id, c)
    assert frame.empty and left == [{"retailer_id": "R1", "version": 3, "manager_id": "M1"}]


def test_approval_refusals(client, orders_world, am, mm, auth):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 5)), headers=am)
    r = approve(client, c, "R1", 1, mm)
    assert r.status_code == 409 and r.json()["code"] == "not_collected"
    r = approve(client, c, "R2", 1, mm)
    assert r.status_code == 404 and r.json()["code"] == "no_order"
    # another market manager's team: 404 as if it did not exist
    client.put(order_url(c, "R4"), json=body(("B1", 5), channel="collected"), headers=auth("account_manager", "M3"))
    assert approve(client, c, "R4", 1, mm).status_code == 404
    assert approve(client, c, "R4", 1, auth("market_manager", "MM2")).status_code == 200
    for bad in ({"version": "1"}, {"version": 0}, {"version": 1, "note": "x"}, {}):
        r = client.post(order_url(c, "R4", "/approve"), json=bad, headers=auth("market_manager", "MM2"))
        assert r.status_code == 422, bad


def test_approval_only_while_open(client, orders_world, am, mm, session, company):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 5), channel="collected"), headers=am)
    cycle_row = session.get(Cycle, c)
    cycle_row.status = "closed"
    session.commit()
    r = approve(client, c, "R1", 1, mm)
    assert r.status_code == 409 and r.json()["code"] == "cycle_state"
    assert session.get(Order, (c, "R1"), populate_existing=True).approved_version is None


def test_reapproval_is_a_no_op_and_idempotency_key_replays(client, orders_world, am, mm, auth):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 5), channel="collected"), headers=am)
    first = approve(client, c, "R1", 1, mm, **{"Idempotency-Key": "k1"})
    replay = approve(client, c, "R1", 1, mm, **{"Idempotency-Key": "k1"})
    assert replay.json() == first.json() and replay.headers.get("idempotent-replayed") == "true"
    assert approve(client, c, "R1", 1, mm).status_code == 200
    other = approve(client, c, "R1", 2, mm, **{"Idempotency-Key": "k1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    events = client.get("/v1/audit-events", params={"action": "order.approve"}, headers=auth("auditor")).json()
    assert len(events["items"]) == 1 and events["items"][0]["new"]["approved_version"] == 1


def test_list_status_filters_and_scope(client, orders_world, am, mm, auth):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 60), ("B2", 70)), headers=am)
    client.put(order_url(c, "R2"), json=body(("B1", 5), channel="collected"), headers=am)
    m2 = auth("account_manager", "M2")
    client.put(order_url(c, "R3"), json=body(("B3", 5), channel="collected"), headers=m2)
    approve(client, c, "R3", 1, mm)
    client.put(order_url(c, "R4"), json=body(("B4", 1)), headers=auth("account_manager", "M3"))

    def ids(headers, **params):
        r = client.get(f"/v1/cycles/{c}/orders", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return {x["retailer_id"]: x["status"] for x in r.json()["items"]}

    assert ids(auth("admin")) == {"R1": "submitted", "R2": "pending_approval", "R3": "approved", "R4": "submitted"}
    assert ids(auth("auditor"), status="pending_approval") == {"R2": "pending_approval"}
    assert ids(auth("auditor"), status="approved") == {"R3": "approved"}
    assert ids(auth("auditor"), channel="collected") == {"R2": "pending_approval", "R3": "approved"}
    assert ids(auth("auditor"), manager_id="M3") == {"R4": "submitted"}
    assert ids(auth("auditor"), retailer_id="R1") == {"R1": "submitted"}
    assert set(ids(am)) == {"R1", "R2"} and set(ids(m2)) == {"R3"}
    assert set(ids(mm)) == {"R1", "R2", "R3"} and set(ids(auth("market_manager", "MM2"))) == {"R4"}
    assert ids(am, manager_id="M3") == {}
    row = client.get(f"/v1/cycles/{c}/orders", params={"retailer_id": "R1"}, headers=am).json()["items"][0]
    got = (row["total"], row["line_count"], row["cap"], row["above_cap"], row["manager_id"])
    assert got == (130, 2, 100, True, "M1")
    assert client.get(f"/v1/cycles/{c}/orders", params={"status": "late"}, headers=am).status_code == 422


def test_list_pages_through_every_order(client, orders_world, auth, am):
    c = orders_world["open"]
    for r in ("R1", "R2"):
        client.put(order_url(c, r), json=body(("B1", 1)), headers=am)
    client.put(order_url(c, "R3"), json=body(("B1", 1)), headers=auth("account_manager", "M2"))
    seen, cursor = [], None
    while True:
        page = client.get(f"/v1/cycles/{c}/orders", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                          headers=auth("admin")).json()
        seen += [x["retailer_id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["R1", "R2", "R3"]
    assert client.get(f"/v1/cycles/{c}/orders", params={"limit": 1001}, headers=am).status_code == 422


def test_get_one_no_order_and_versions(client, orders_world, am, auth):
    c = orders_world["open"]
    r = client.get(order_url(c, "R2"), headers=am)
    assert r.status_code == 404 and r.json()["detail"] == "no order: no demand" and r.json()["code"] == "no_order"
    for q in (1, 2, 3):
        client.put(order_url(c, "R2"), json=body(("B1", q)), headers=am)
    got = client.get(order_url(c, "R2"), headers=auth("auditor"))
    assert got.status_code == 200 and got.headers["etag"] == '"3"' and got.json()["total"] == 3
    page1 = client.get(order_url(c, "R2", "/versions"), params={"limit": 2}, headers=am).json()
    page2 = client.get(order_url(c, "R2", "/versions"), params={"limit": 2, "cursor": page1["next_cursor"]},
                       headers=am).json()
    assert [v["version"] for v in page1["items"] + page2["items"]] == [1, 2, 3]
    assert [v["total"] for v in page1["items"] + page2["items"]] == [1, 2, 3] and page2["next_cursor"] is None
    assert client.get(order_url(c, "R9", "/versions"), headers=am).status_code == 404


def test_approved_demand_mixes_channels(client, orders_world, am, mm, auth, session, company):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B2", 3), ("B1", 2)), headers=am)
    client.put(order_url(c, "R2"), json=body(("B1", 5), channel="collected"), headers=am)
    client.put(order_url(c, "R3"), json=body(("B3", 4), ("B4", 0), channel="collected"),
               headers=auth("account_manager", "M2"))
    approve(client, c, "R3", 1, mm)
    frame, left = approved_demand(session, company.id, c)
    expected = pd.DataFrame({"retailer_id": ["R1", "R1", "R3", "R3"], "brand_code": ["B1", "B2", "B3", "B4"],
                             "quantity": [2, 3, 4, 0]})
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["quantity"].dtype == "int64"
    assert left == [{"retailer_id": "R2", "version": 1, "manager_id": "M1"}]
    empty, none = approved_demand(session, company.id, orders_world["planned"])
    assert list(empty.columns) == ["retailer_id", "brand_code", "quantity"] and empty.empty and none == []
