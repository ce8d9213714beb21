"""A cycle's whole life through the public routes: forecast while planned, orders and an approval while open,
close, then the accuracy the auditor reads.

Specs K (key) and A; M1 owns R1, R2; M2 owns R3; both report to MM1.
  forecasts (planned)  M1: K 10, A 4        M2: A 5
  orders (open)        R1 stated K 8, A 4; R2 collected K 3, approved at v1, then replaced by K 30 (v2, unapproved);
                       R3 collected A 6, approved
  actual               M1: K 8 (R2's replacement cleared its approval, so R2 counts nothing), A 4;  M2: A 6
  M1: Σ|A-F| = 2 + 0 = 2 over ΣA 12 -> single 10/12; total 1 - |12-14|/12 = 10/12; key K: 1 - 2/8 = 6/8 both;
      bias (14-12)/12 = 2/12
  M2: |6-5| = 1 over 6 -> 5/6 single and total; no key rows -> key empty; bias (5-6)/6 = -1/6
  ranks: M2 5/6 = 0.8333 and M1 10/12 = 0.8333 tie after rounding -> both rank 1
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.tables import Cycle
from tests.worlds.forecasts import Seed


@pytest.fixture
def people(session, company):
    s = Seed(session, company.id)
    s.managers({"M1": "MM1", "M2": "MM1"})
    s.brands({"K": True, "A": False})
    s.retailers({"R1": "M1", "R2": "M1", "R3": "M2"})
    session.commit()


def test_forecast_orders_close_then_accuracy(client, auth, people, session):
    admin, m1, m2, mm1 = auth("admin"), auth("account_manager", "M1"), auth("account_manager", "M2"), \
        auth("market_manager", "MM1")
    opens = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = client.post("/v1/cycles", json={"name": "2025-W23", "start_date": "2025-06-02", "end_date": "2025-06-08",
                                        "opens_at": opens}, headers=admin)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    f = f"/v1/cycles/{cid}/forecasts"
    assert client.put(f + "/M1", json={"lines": [{"brand_code": "K", "quantity": 10},
                                                 {"brand_code": "A", "quantity": 4}]}, headers=m1).status_code == 200
    assert client.put(f + "/M2", json={"lines": [{"brand_code": "A", "quantity": 5}]}, headers=m2).status_code == 200
    # time passes: the cycle opens, forecasts close
    session.get(Cycle, int(cid)).opens_at = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()
    late = client.put(f + "/M1", json={"lines": []}, headers=m1)
    assert late.status_code == 409 and late.json()["code"] == "cycle_state"
    o = f"/v1/cycles/{cid}/orders"
    assert client.put(o + "/R1", json={"lines": [{"brand_code": "K", "quantity": 8}, {"brand_code": "A", "quantity": 4}]},
                      headers=m1).status_code in (200, 201)
    assert client.put(o + "/R2", json={"lines": [{"brand_code": "K", "quantity": 3}], "channel": "collected"},
                      headers=m1).status_code in (200, 201)
    assert client.post(o + "/R2/approve", json={"version": 1}, headers=mm1).status_code == 200
    assert client.put(o + "/R2", json={"lines": [{"brand_code": "K", "quantity": 30}], "channel": "collected"},
                      headers=m1).json()["version"] == 2
    assert client.put(o + "/R3", json={"lines": [{"brand_code": "A", "quantity": 6}], "channel": "collected"},
                      headers=m2).status_code in (200, 201)
    assert client.post(o + "/R3/approve", json={"version": 1}, headers=mm1).status_code == 200
    early = client.get("/v1/accuracy", params={"cycle_id": cid}, headers=admin)
    assert early.status_code == 409                                     # demand not final before the close
    caps = [{"retailer_id": r, "cap": 100} for r in ("R1", "R2", "R3")]
    assert client.put(f"/v1/cycles/{cid}/caps", json=caps, headers=admin).status_code == 200
    assert client.post(f"/v1/cycles/{cid}/close", headers=admin).status_code == 200
    items = client.get("/v1/accuracy", params={"cycle_id": cid}, headers=mm1).json()["items"]
    got = {x["manager_id"]: x for x in items}
    assert got["M1"]["single_brand_accuracy"] == pytest.approx(10 / 12)
    assert got["M1"]["total_accuracy"] == pytest.approx(10 / 12)
    assert got["M1"]["key_single_brand_accuracy"] == pytest.approx(6 / 8)
    assert got["M1"]["bias"] == pytest.approx(2 / 12)
    assert got["M2"]["single_brand_accuracy"] == pytest.approx(5 / 6)
    assert got["M2"]["key_total_accuracy"] is None and got["M2"]["bias"] == pytest.approx(-1 / 6)
    assert got["M1"]["rank"] == got["M2"]["rank"] == 1
    spec = client.get("/v1/accuracy", params={"cycle_id": cid, "level": "spec"}, headers=m1).json()["items"]
    assert [(x["brand_code"], x["forecast"], x["actual"]) for x in spec] == [("A", 4, 4), ("K", 10, 8)]
    month = client.get("/v1/accuracy", params={"from": date(2025, 6, 1), "to": date(2025, 6, 30)},
                       headers=m2).json()
    assert [(x["manager_id"], x["rank"]) for x in month["items"]] == [("M2", 1)] and month["cycle_ids"] == [cid]
