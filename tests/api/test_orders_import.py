"""Demand file import: all rows or none, every bad row reported with its line, counts of what changed."""

from __future__ import annotations

import gzip

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.settings import Settings
from models.tables import AuditEvent
from models.tables_demand import Order, OrderLine, OrderVersion
from tests.worlds.orders import body, order_url


HEADER = "retailer_id,brand_code,quantity,channel\n"


def post(client, cycle, text, headers, content_type="text/csv", **extra):
    data = text.encode() if isinstance(text, str) else text
    return client.post(f"/v1/cycles/{cycle}/orders/import", content=data,
                       headers={**headers, "Content-Type": content_type, **extra})


def count(session, table):
    return session.execute(select(func.count()).select_from(table)).scalar()


def stored(session, cycle):
    return sorted(session.execute(select(OrderLine.retailer_id, OrderLine.brand_code, OrderLine.quantity)
                                  .where(OrderLine.cycle_id == cycle)).all())


def test_import_creates_replaces_and_keeps(client, orders_world, am, auth, session):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 2)), headers=am)
    client.put(order_url(c, "R2"), json=body(("B2", 1), ("B1", 3)), headers=am)
    text = HEADER + "R2,B1,3,\nR1,B1,60,\nR1,B2,70,\nR2,B2,1,retailer_stated\n"
    r = post(client, c, text, auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json() == {"cycle_id": str(c), "orders": 2, "created": 0, "replaced": 1, "unchanged": 1, "lines": 4,
                        "warnings": 1}
    client.put(order_url(c, "R3"), json=body(("B5", 5)), headers=auth("account_manager", "M2"))
    r = post(client, c, "retailer_id,brand_code,quantity\nR3,B4,8\nR4,B4,0\n", auth("admin"))
    assert r.json() == {"cycle_id": str(c), "orders": 2, "created": 1, "replaced": 1, "unchanged": 0,
                        "lines": 2, "warnings": 0}
    assert stored(session, c) == [("R1", "B1", 60), ("R1", "B2", 70), ("R2", "B1", 3), ("R2", "B2", 1),
                                  ("R3", "B4", 8), ("R4", "B4", 0)]
    versions = dict(session.execute(select(Order.retailer_id, Order.version).where(Order.cycle_id == c)).all())
    assert versions == {"R1": 2, "R2": 1, "R3": 2, "R4": 1}
    hist = session.execute(select(OrderVersion.version, OrderVersion.lines, OrderVersion.channel)
                           .where(OrderVersion.retailer_id == "R1").order_by(OrderVersion.version)).all()
    assert hist[-1] == (2, [{"brand_code": "B1", "quantity": 60}, {"brand_code": "B2", "quantity": 70}],
                        "retailer_stated")
    # an imported body is the same body as a PUT of the same lines: no new version
    again = client.put(order_url(c, "R1"), json=body(("B2", 70), ("B1", 60)), headers=am)
    assert again.json()["version"] == 2 and again.json()["warnings"][0]["code"] == "above_cap"
    events = client.get("/v1/audit-events", params={"action": "order.import"}, headers=auth("auditor")).json()
    assert [e["new"]["replaced"] for e in events["items"]] == [1, 1] and events["items"][0]["object_type"] == "cycle"


def test_import_replacement_clears_approval_and_sets_channel(client, orders_world, am, auth, session):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 2), channel="collected"), headers=am)
    client.post(order_url(c, "R1", "/approve"), json={"version": 1}, headers=auth("market_manager", "MM1"))
    same = post(client, c, HEADER + "R1,B1,2,collected\n", am)
    assert same.json()["unchanged"] == 1
    assert client.get(order_url(c, "R1"), headers=am).json()["status"] == "approved"
    r = post(client, c, HEADER + "R1,B1,3,collected\n", am)
    assert r.json()["replaced"] == 1
    got = client.get(order_url(c, "R1"), headers=am).json()
    assert (got["version"], got["status"], got["approved_version"]) == (2, "pending_approval", None)


def test_account_manager_with_anothers_retailer_is_refused_whole(client, orders_world, am, session):
    c = orders_world["open"]
    r = post(client, c, HEADER + "R1,B1,1,\nR3,B1,1,\nR404,B2,1,\n", am)
    assert r.status_code == 422 and r.json()["code"] == "invalid_rows"
    errs = r.json()["errors"]
    assert [(e["line"], e["column"]) for e in errs] == [(3, "retailer_id"), (4, "retailer_id")]
    # another manager's retailer reads exactly like an unknown one: nothing about it leaks
    assert errs[0]["message"].replace("R3", "X") == errs[1]["message"].replace("R404", "X")
    assert count(session, Order) == 0


def test_every_bad_row_reported_and_nothing_loaded(client, orders_world, am, session):
    c = orders_world["open"]
    client.put(order_url(c, "R1"), json=body(("B1", 2)), headers=am)
    rows = ["R1,B1,5,",            # 2 fine
            "R1,B2,-1,",           # 3 negative
            "R1,B3,2.5,",          # 4 not whole
            "R1,B4,10001,",        # 5 above maximum
            "R2,NOPE,1,",          # 6 unknown spec
            "R2,B1,1,",            # 7 fine
            "R2,B1,2,",            # 8 duplicate of line 7
            "R5,B1,1,",            # 9 suspended
            "R2,B2,1,collected",   # 10 second channel for R2
            "R1,B5,1,dictated",    # 11 unknown channel
            ",B5,1,",              # 12 empty retailer
            "R1,B\x075,1,",        # 13 control character
            "R2,B3,,"]             # 14 empty quantity
    r = post(client, c, HEADER + "\n".join(rows) + "\n", am)
    assert r.status_code == 422
    got = {(e["line"], e["column"]) for e in r.json()["errors"]}
    assert got >= {(3, "quantity"), (4, "quantity"), (5, "quantity"), (6, "brand_code"), (8, "brand_code"),
                   (9, "retailer_id"), (10, "channel"), (11, "channel"), (12, "retailer_id"), (13, "brand_code"),
                   (14, "quantity")}
    assert not {line for line, _ in got} & {2, 7}
    assert r.json()["error_count"] == len(r.json()["errors"])
    assert "line 3" in r.json()["detail"]
    assert stored(session, c) == [("R1", "B1", 2)]


def test_many_bad_rows_are_counted_and_the_first_thousand_listed(client, orders_world, am):
    text = HEADER + "".join(f"R1,B1,{-i},\n" for i in range(1, 1502))
    r = post(client, orders_world["open"], text, am)
    body_ = r.json()
    # each row negative, 1500 repeats of R1/B1, and R1 with more than 500 lines
    assert r.status_code == 422 and body_["error_count"] == 1501 + 1500 + 1
    assert len(body_["errors"]) == 1000 and body_["errors"][0]["line"] == 2
    assert [e["line"] for e in body_["errors"]] == sorted(e["line"] for e in body_["errors"])


def test_file_level_refusals(client, orders_world, am):
    c = orders_world["open"]
    missing = post(client, c, "retailer_id,quantity\nR1,3\n", am)
    assert missing.status_code == 422 and missing.json()["errors"] == [
        {"line": 1, "column": "brand_code", "message": "required column is missing from the header"}]
    assert post(client, c, "", am).status_code == 422
    assert post(client, c, "retailer_id,brand_code,quantity\n", am).json()["errors"][0]["line"] == 2
    assert post(client, c, b"retailer_id,brand_code,quantity\nR1,B1,\xff\n", am).status_code == 422
    assert post(client, c, "retailer_id,brand_code,quantity\nR1,B1,1,9,9\n", am).status_code == 422
    assert post(client, c, '{"lines": []}', am, content_type="application/json").status_code == 415
    bom = post(client, c, "\ufeffretailer_id,brand_code,quantity,note\nR1,B1,1,ignored\n", am)
    assert bom.status_code == 200 and bom.json()["created"] == 1


def test_too_many_lines_per_order(client, orders_world, am):
    client.app.state.settings = client.app.state.settings.model_copy(update={"max_order_lines": 2})
    r = post(client, orders_world["open"], HEADER + "R1,B1,1,\nR1,B2,1,\nR1,B3,1,\nR2,B1,1,\n", am)
    assert r.status_code == 422 and r.json()["errors"] == [
        {"line": 2, "column": "retailer_id",
         "message": "retailer R1 has 3 lines; at most 2 are accepted, one per spec"}]


def test_cycle_state_and_existence(client, orders_world, am):
    assert post(client, orders_world["closed"], HEADER + "R1,B1,1,\n", am).status_code == 409
    assert post(client, orders_world["planned"], HEADER + "R1,B1,1,\n", am).json()["code"] == "cycle_state"
    assert post(client, 99999, HEADER + "R1,B1,1,\n", am).status_code == 404


def test_oversize_is_413(connection, orders_world, am, caplog):
    settings = Settings(database_url="sqlite://", run_in_process=True, max_body_bytes=200)
    small = TestClient(create_app(settings=settings, engine=connection), raise_server_exceptions=False)
    text = HEADER + "".join(f"R1,B{i % 5 + 1},{i},\n" for i in range(40))
    r = post(small, orders_world["open"], text, am)
    assert r.status_code == 413 and r.json()["code"] == "too_large"

    def chunks():  # no Content-Length: the edge counts the bytes as they arrive
        for i in range(0, len(text), 50):
            yield text[i:i + 50].encode()

    caplog.clear()
    r = small.post(f"/v1/cycles/{orders_world['open']}/orders/import", content=chunks(),
                   headers={**am, "Content-Type": "text/csv"})
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert "unhandled error" not in caplog.text  # a refused body is an answer, not a fault in the log
    assert post(small, orders_world["open"], HEADER + "R1,B1,1,\n", am).status_code == 200


def test_gzip_body(connection, orders_world, am, session):
    settings = Settings(database_url="sqlite://", run_in_process=True, max_body_bytes=300)
    small = TestClient(create_app(settings=settings, engine=connection), raise_server_exceptions=False)
    text = HEADER + "".join(f"R{1 + i % 2},B{i % 5 + 1},{i},\n" for i in range(10))
    assert len(text) < 300 < len(text * 3)
    r = post(small, orders_world["open"], gzip.compress(text.encode()), am, **{"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["lines"] == 10
    assert sorted(stored(session, orders_world["open"])) == sorted(
        (f"R{1 + i % 2}", f"B{i % 5 + 1}", i) for i in range(10))
    bomb = gzip.compress(b"retailer_id,brand_code,quantity\n" + b"R1,B1,1\n" * 400)  # unpacks above 8 x 300 bytes
    assert len(bomb) < 300
    assert post(small, orders_world["open"], bomb, am, **{"Content-Encoding": "gzip"}).status_code == 413
    bad = post(small, orders_world["open"], b"not gzip at all", am, **{"Content-Encoding": "gzip"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_gzip"
    cut = post(small, orders_world["open"], gzip.compress(text.encode())[:-12], am, **{"Content-Encoding": "gzip"})
    assert cut.status_code == 422 and cut.json()["code"] == "invalid_gzip"
    assert post(small, orders_world["open"], text, am, **{"Content-Encoding": "br"}).status_code == 415


def test_import_idempotency_key_replays_without_work(client, orders_world, am, auth, session):
    c = orders_world["open"]
    text = HEADER + "R1,B1,1,\n"
    first = post(client, c, text, am, **{"Idempotency-Key": "imp-1"})
    client.put(order_url(c, "R1"), json=body(("B1", 9)), headers=am)
    replay = post(client, c, text, am, **{"Idempotency-Key": "imp-1"})
    assert replay.status_code == 200 and replay.json() == first.json()
    assert stored(session, c) == [("R1", "B1", 9)]
    assert count(session, AuditEvent) == 2
