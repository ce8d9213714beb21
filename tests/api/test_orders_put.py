"""PUT of one order: versions, ETags, identical bodies, caps as warnings only, state and validation refusals."""

from __future__ import annotations

from sqlalchemy import func, select

from models.tables import AuditEvent
from models.tables_demand import Order, OrderLine, OrderVersion
from tests.worlds.orders import CAP_R1, body, order_url


def put(client, cycle, retailer, payload, headers, **extra):
    return client.put(order_url(cycle, retailer), json=payload, headers={**headers, **extra})


def test_first_put_creates_version_1_and_replacement_bumps(client, orders_world, am, session):
    r = put(client, orders_world["open"], "R2", body(("B2", 3), ("B1", 4)), am)
    assert r.status_code == 201 and r.headers["etag"] == '"1"'
    got = r.json()
    assert (got["version"], got["total"], got["status"], got["cap"], got["warnings"]) == (1, 7, "submitted", None, [])
    assert got["lines"] == [{"brand_code": "B1", "quantity": 4}, {"brand_code": "B2", "quantity": 3}]
    r = put(client, orders_world["open"], "R2", body(("B3", 9)), am)
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and r.json()["total"] == 9
    lines = session.execute(select(OrderLine.brand_code, OrderLine.quantity)
                            .where(OrderLine.retailer_id == "R2")).all()
    assert lines == [("B3", 9)]
    versions = session.execute(select(OrderVersion.version, OrderVersion.lines).where(
        OrderVersion.retailer_id == "R2").order_by(OrderVersion.version)).all()
    assert versions == [(1, [{"brand_code": "B1", "quantity": 4}, {"brand_code": "B2", "quantity": 3}]),
                        (2, [{"brand_code": "B3", "quantity": 9}])]


def test_identical_body_keeps_version_and_writes_nothing(client, orders_world, am, session):
    put(client, orders_world["open"], "R2", body(("B1", 4), ("B2", 3)), am)
    events = session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    r = put(client, orders_world["open"], "R2", body(("B2", 3), ("B1", 4)), am)
    assert r.status_code == 200 and r.json()["version"] == 1 and r.headers["etag"] == '"1"'
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar() == events
    assert session.execute(select(func.count()).select_from(OrderVersion)).scalar() == 1
    # the same lines by another channel are a different body
    r = put(client, orders_world["open"], "R2", body(("B2", 3), ("B1", 4), channel="collected"), am)
    assert r.json()["version"] == 2 and r.json()["status"] == "pending_approval"


def test_if_match(client, orders_world, am):
    assert put(client, orders_world["open"], "R2", body(("B1", 1)), am, **{"If-Match": '"1"'}).status_code == 412
    assert put(client, orders_world["open"], "R2", body(("B1", 1)), am).status_code == 201
    assert put(client, orders_world["open"], "R2", body(("B1", 2)), am, **{"If-Match": '"1"'}).status_code == 200
    stale = put(client, orders_world["open"], "R2", body(("B1", 3)), am, **{"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert stale.json()["current_version"] == 2
    assert put(client, orders_world["open"], "R2", body(("B1", 3)), am, **{"If-Match": 'W/"2"'}).json()["version"] == 3
    assert put(client, orders_world["open"], "R2", body(("B1", 4)), am, **{"If-Match": "*"}).json()["version"] == 4
    assert client.get(order_url(orders_world["open"], "R2"), headers=am).json()["lines"] == [
        {"brand_code": "B1", "quantity": 4}]


def test_above_cap_is_kept_whole_with_a_warning(client, orders_world, am, session):
    r = put(client, orders_world["open"], "R1", body(("B1", 60), ("B2", 70)), am)
    assert r.status_code == 201
    got = r.json()
    assert got["total"] == 130 and got["cap"] == CAP_R1
    assert [w["code"] for w in got["warnings"]] == ["above_cap"]
    assert "130" in got["warnings"][0]["detail"] and str(CAP_R1) in got["warnings"][0]["detail"]
    assert session.execute(select(func.sum(OrderLine.quantity)).where(OrderLine.retailer_id == "R1")).scalar() == 130
    at_cap = put(client, orders_world["open"], "R1", body(("B1", 30), ("B2", 70)), am).json()
    assert at_cap["warnings"] == [] and at_cap["total"] == CAP_R1


def test_suspended_retailer_refused(client, orders_world, am):
    r = put(client, orders_world["open"], "R5", body(("B1", 1)), am)
    assert r.status_code == 409 and r.json()["code"] == "retailer_suspended"


def test_cycle_not_open(client, orders_world, am):
    for which in ("planned", "closed"):
        r = put(client, orders_world[which], "R1", body(("B1", 1)), am)
        assert r.status_code == 409 and r.json()["code"] == "cycle_state" and which in r.json()["detail"]


def test_unknown_cycle_and_others_retailer_are_404(client, orders_world, am):
    assert put(client, 999999, "R1", body(("B1", 1)), am).status_code == 404
    assert put(client, "abc", "R1", body(("B1", 1)), am).status_code == 404
    other = put(client, orders_world["open"], "R3", body(("B1", 1)), am)
    missing = put(client, orders_world["open"], "R404", body(("B1", 1)), am)
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace("R3", "X") == missing.json()["detail"].replace("R404", "X")


def test_empty_order_is_a_stated_zero(client, orders_world, am):
    r = put(client, orders_world["open"], "R2", body(), am)
    assert r.status_code == 201 and r.json()["total"] == 0 and r.json()["lines"] == []


BAD = [
    ({"lines": [{"brand_code": "B1", "quantity": "5"}]}, "lines.0.quantity"),
    ({"lines": [{"brand_code": "B1", "quantity": 2.5}]}, "lines.0.quantity"),
    ({"lines": [{"brand_code": "B1", "quantity": True}]}, "lines.0.quantity"),
    ({"lines": [{"brand_code": "B1", "quantity": -1}]}, "lines.0.quantity"),
    ({"lines": [{"brand_code": "B1", "quantity": 10_001}]}, "lines.0.quantity"),
    ({"lines": [{"brand_code": "B1", "quantity": 1}, {"brand_code": "B\x07", "quantity": 1}]}, "lines.1.brand_code"),
    ({"lines": [{"brand_code": "B1", "quantity": 1, "floor": 1}]}, "lines.0.floor"),
    ({"lines": [], "minimum": 3}, "minimum"),
    ({"lines": [], "channel": "dictated"}, "channel"),
    ({"lines": "B1"}, "lines"),
    ({}, "lines"),
]


def test_schema_refusals_are_422_naming_the_field(client, orders_world, am):
    for payload, where in BAD:
        r = put(client, orders_world["open"], "R1", payload, am)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", (payload, r.text)
        assert where in r.json()["detail"], (payload, r.text)


def test_model_refusals_name_the_line(client, orders_world, am, session):
    dup = put(client, orders_world["open"], "R1", body(("B1", 1), ("B2", 1), ("B1", 2)), am)
    assert dup.status_code == 422 and dup.json()["code"] == "duplicate_spec"
    assert "lines[2]" in dup.json()["detail"] and "lines[0]" in dup.json()["detail"]
    unknown = put(client, orders_world["open"], "R1", body(("B1", 1), ("NOPE", 1), ("ALSO", 2)), am)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_spec"
    assert unknown.json()["specs"] == ["NOPE", "ALSO"] and "lines[1]" in unknown.json()["detail"]
    # validation comes before the 404 of another manager's retailer and before the 409 of a closed cycle
    assert put(client, orders_world["open"], "R3", body(("NOPE", 1)), am).status_code == 422
    assert put(client, orders_world["closed"], "R1", body(("NOPE", 1)), am).status_code == 422
    assert session.execute(select(func.count()).select_from(Order)).scalar() == 0


def test_too_many_lines(client, orders_world, am):
    client.app.state.settings = client.app.state.settings.model_copy(update={"max_order_lines": 3})
    r = put(client, orders_world["open"], "R1", body(("B1", 1), ("B2", 1), ("B3", 1), ("B4", 1)), am)
    assert r.status_code == 422 and r.json()["code"] == "too_many_lines" and "3" in r.json()["detail"]
    assert put(client, orders_world["open"], "R1", body(("B1", 1), ("B2", 1), ("B3", 1)), am).status_code == 201


def test_replacement_is_audited_with_totals(client, orders_world, am, auth):
    put(client, orders_world["open"], "R2", body(("B1", 4)), am)
    put(client, orders_world["open"], "R2", body(("B1", 9), channel="collected"), am)
    events = client.get("/v1/audit-events", params={"object_type": "order", "object_id": f"{orders_world['open']}/R2"},
                        headers=auth("auditor")).json()["items"]
    assert [e["action"] for e in events] == ["order.create", "order.replace"]
    assert events[1]["old"]["total"] == 4 and events[1]["new"]["total"] == 9
    assert events[1]["new"]["channel"] == "collected" and events[1]["new"]["version"] == 2
    assert events[1]["actor_role"] == "account_manager" and events[1]["at"]
