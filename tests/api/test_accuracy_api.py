"""Accuracy over HTTP equals hand-computed figures on a small city; filters, pooling, paging, CSV, visibility.

The city: specs K (key), A, B; M1 and M2 report to market manager MM1, M3 to MM2.
Retailers R1, R2 -> M1; R3, R4, R5 -> M2; M3 has none.

Cycle C1 (closed, starts 2025-03-03)
  orders  R1 stated K 10, A 5; R2 collected v2 approved v2: K 4 (counts);
          R3 stated K 6, A 2; R4 collected v2 approved v1: A 50 (does NOT count); R5 no order
  actual  M1: K 14, A 5, B 0      M2: K 6, A 2        M3: nothing
  forecast M1: K 12, A 5, B 3     M2: K 6, A 4        M3: A 1
  by spec M1 K: 1 - |14-12|/14 = 12/14   M1 A: 1 - 0/5 = 1   M1 B: A = 0, F = 3 -> 0
          M2 K: 1   M2 A: max(0, 1 - |2-4|/2) = 0   M3 A: A = 0, F = 1 -> 0
  by manager
    M1: ΣA 19, ΣF 20, Σ|A-F| 2+0+3 = 5 -> single 14/19; total 1 - |19-20|/19 = 18/19;
        key (K only) 12/14 both; bias (20-19)/19 = 1/19
    M2: ΣA 8, ΣF 10, Σ|A-F| 0+2 = 2 -> single 6/8; total 1 - 2/8 = 6/8; key 1, 1; bias 2/8
    M3: ΣA 0, ΣF 1 -> single 0, total 0; no key rows -> key empty; ΣA = 0 -> bias empty
    ranks: M2 0.75 -> 1, M1 0.7368 -> 2, M3 0 -> 3

Cycle C2 (published, starts 2025-03-10)
  orders  R1 stated K 10; R3 stated A 3          forecast M1: K 12; M2: A 3
  M1: K 1 - 2/10 = 0.8 (single, total, key both); bias 2/10      M2: 1, 1, key empty, bias 0
  ranks: M2 1, M1 2 (M3 has neither forecast nor order: no row)

March pooled (C1 + C2; C3 planned and C4 in April are left out)
  M1: Σ|A-F| 5 + 2 = 7 over ΣA 29 -> single 22/29; total (|19-20| + |10-12|)/29 -> 26/29;
      key cells K: |14-12| + |10-12| = 4 over 24 -> 20/24, key total (2 + 2)/24 -> 20/24
      (netting the weeks would give |24-24| = 0, i.e. 1.0); bias (32-29)/29 = 3/29
  M2: Σ|A-F| 2 + 0 = 2 over 11 -> 9/11; total (2 + 0)/11 -> 9/11; key 1, 1; bias (13-11)/11 = 2/11
  M3: 0, 0, empty, empty, empty
  ranks: M2 1, M1 2, M3 3
  by spec, pooled: M1 K F 24 A 24 accuracy 1 - 4/24 = 20/24 (not 1)
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest

from tests.worlds.forecasts import Seed

MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
NULL = None


@pytest.fixture
def city(session, company):
    s = Seed(session, company.id)
    s.managers({"M1": "MM1", "M2": "MM1", "M3": "MM2"})
    s.brands({"K": True, "A": False, "B": False})
    s.retailers({"R1": "M1", "R2": "M1", "R3": "M2", "R4": "M2", "R5": "M2"})
    c1 = s.cycle("2025-W10", date(2025, 3, 3), "closed")
    s.order(c1, "R1", {"K": 10, "A": 5})
    s.order(c1, "R2", {"K": 4}, "collected", version=2, approved_version=2)
    s.order(c1, "R3", {"K": 6, "A": 2})
    s.order(c1, "R4", {"A": 50}, "collected", version=2, approved_version=1)
    s.forecast(c1, "M1", {"K": 12, "A": 5, "B": 3})
    s.forecast(c1, "M2", {"K": 6, "A": 4})
    s.forecast(c1, "M3", {"A": 1})
    c2 = s.cycle("2025-W11", date(2025, 3, 10), "published")
    s.order(c2, "R1", {"K": 10})
    s.order(c2, "R3", {"A": 3})
    s.forecast(c2, "M1", {"K": 12})
    s.forecast(c2, "M2", {"A": 3})
    c3 = s.cycle("2025-W12", date(2025, 3, 17), "planned", opens_in_days=2)   # not final: left out
    s.forecast(c3, "M1", {"K": 99})
    c4 = s.cycle("2025-W15", date(2025, 4, 7), "closed")                        # April: outside March
    s.order(c4, "R1", {"K": 100})
    session.commit()
    return {"c1": str(c1), "c2": str(c2), "c3": str(c3), "c4": str(c4)}


def manager_row(m, period, single, total, key_single, key_total, bias, rank):
    return {"manager_id": m, "period": period, "single_brand_accuracy": single, "total_accuracy": total,
            "key_single_brand_accuracy": key_single, "key_total_accuracy": key_total, "bias": bias, "rank": rank}


def close(got: list[dict], want: list[dict]) -> None:
    """Exact keys and texts; figures equal to 1e-12 (they are the same fractions in floating point)."""
    assert len(got) == len(want), got
    for g, w in zip(got, want):
        assert g.keys() == w.keys()
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] == pytest.approx(v, abs=1e-12), (k, g)
            else:
                assert g[k] == v, (k, g)


def get(client, headers, **params):
    r = client.get("/v1/accuracy", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_one_cycle_by_manager(client, auth, city):
    body = get(client, auth("auditor"), cycle_id=city["c1"])
    c1 = city["c1"]
    close(body["items"], [
        manager_row("M2", c1, 6 / 8, 6 / 8, 1.0, 1.0, 2 / 8, 1),
        manager_row("M1", c1, 14 / 19, 18 / 19, 12 / 14, 12 / 14, 1 / 19, 2),
        manager_row("M3", c1, 0.0, 0.0, NULL, NULL, NULL, 3),
    ])
    assert body["next_cursor"] is None and body["level"] == "manager" and body["cycle_ids"] == [c1]
    c2 = city["c2"]
    close(get(client, auth("admin"), cycle_id=c2)["items"], [
        manager_row("M2", c2, 1.0, 1.0, NULL, NULL, 0.0, 1),
        manager_row("M1", c2, 0.8, 0.8, 0.8, 0.8, 0.2, 2),
    ])


def test_one_cycle_by_spec(client, auth, city):
    c1 = city["c1"]
    items = get(client, auth("auditor"), cycle_id=c1, level="spec")["items"]
    assert [(x["manager_id"], x["brand_code"], x["forecast"], x["actual"]) for x in items] == [
        ("M1", "A", 5, 5), ("M1", "B", 3, 0), ("M1", "K", 12, 14), ("M2", "A", 4, 2), ("M2", "K", 6, 6),
        ("M3", "A", 1, 0)]
    assert [x["accuracy"] for x in items] == pytest.approx([1.0, 0.0, 12 / 14, 0.0, 1.0, 0.0])
    assert {x["period"] for x in items} == {c1}


def test_march_pools_without_netting_weeks(client, auth, city):
    body = get(client, auth("auditor"), **MARCH)
    label = "2025-03-01..2025-03-31"
    close(body["items"], [
        manager_row("M2", label, 9 / 11, 9 / 11, 1.0, 1.0, 2 / 11, 1),
        manager_row("M1", label, 22 / 29, 26 / 29, 20 / 24, 20 / 24, 3 / 29, 2),
        manager_row("M3", label, 0.0, 0.0, NULL, NULL, NULL, 3),
    ])
    assert body["cycle_ids"] == [city["c1"], city["c2"]] and body["cycles_not_closed"] == [city["c3"]]
    assert body["from"] == "2025-03-01" and body["to"] == "2025-03-31"
    k = get(client, auth("auditor"), level="spec", brand_code="K", **MARCH)["items"]
    assert [(x["manager_id"], x["forecast"], x["actual"]) for x in k] == [("M1", 24, 24), ("M2", 6, 6)]
    assert k[0]["accuracy"] == pytest.approx(20 / 24) and k[0]["period"] == label
    # April holds only C4: M1 ordered 100 of K and forecast nothing
    close(get(client, auth("auditor"), **{"from": "2025-04-01", "to": "2025-04-30"})["items"],
          [manager_row("M1", "2025-04-01..2025-04-30", 0.0, 0.0, 0.0, 0.0, -1.0, 1)])


def test_spec_filters_change_what_is_scored_and_ranked(client, auth, city):
    c1 = city["c1"]
    # key only: M1 K 12 vs 14 -> 12/14, bias -2/14; M2 K 6 vs 6 -> 1; M3 has no key cell
    close(get(client, auth("auditor"), cycle_id=c1, key_only="true")["items"], [
        manager_row("M2", c1, 1.0, 1.0, 1.0, 1.0, 0.0, 1),
        manager_row("M1", c1, 12 / 14, 12 / 14, 12 / 14, 12 / 14, -2 / 14, 2),
    ])
    # spec A only: M1 5 vs 5 -> 1; M2 4 vs 2 -> 0; M3 1 vs 0 -> 0; equal scores share rank 2
    close(get(client, auth("auditor"), cycle_id=c1, brand_code="A")["items"], [
        manager_row("M1", c1, 1.0, 1.0, NULL, NULL, 0.0, 1),
        manager_row("M2", c1, 0.0, 0.0, NULL, NULL, 1.0, 2),
        manager_row("M3", c1, 0.0, 0.0, NULL, NULL, NULL, 2),
    ])
    spec = get(client, auth("auditor"), cycle_id=c1, level="spec", key_only="true")["items"]
    assert [(x["manager_id"], x["brand_code"]) for x in spec] == [("M1", "K"), ("M2", "K")]
    r = client.get("/v1/accuracy", params={"cycle_id": c1, "brand_code": "ZZ"}, headers=auth("auditor"))
    assert r.status_code == 422 and r.json()["code"] == "unknown_brand"


def test_manager_filter_keeps_the_company_rank(client, auth, city):
    items = get(client, auth("auditor"), cycle_id=city["c1"], manager_id="M1")["items"]
    assert [(x["manager_id"], x["rank"]) for x in items] == [("M1", 2)]
    assert get(client, auth("auditor"), cycle_id=city["c1"], manager_id="nobody")["items"] == []


@pytest.mark.parametrize("role, mid, seen", [
    ("auditor", None, [("M2", 1), ("M1", 2), ("M3", 3)]),
    ("admin", None, [("M2", 1), ("M1", 2), ("M3", 3)]),
    ("market_manager", "MM1", [("M2", 1), ("M1", 2)]),
    ("market_manager", "MM2", [("M3", 3)]),
    ("account_manager", "M1", [("M1", 2)]),
    ("account_manager", "M3", [("M3", 3)]),
])
def test_visibility_shows_true_ranks(client, auth, city, role, mid, seen):
    headers = auth(role, mid)
    for params in ({"cycle_id": city["c1"]}, MARCH):
        assert [(x["manager_id"], x["rank"]) for x in get(client, headers, **params)["items"]] == seen
    spec = get(client, headers, cycle_id=city["c1"], level="spec")["items"]
    assert {x["manager_id"] for x in spec} == {m for m, _ in seen}


def test_out_of_scope_manager_is_an_empty_list_and_dc_is_403(client, auth, city):
    assert get(client, auth("account_manager", "M1"), cycle_id=city["c1"], manager_id="M2")["items"] == []
    assert get(client, auth("market_manager", "MM2"), cycle_id=city["c1"], manager_id="M1")["items"] == []
    for url in ("/v1/accuracy", "/v1/accuracy.csv"):
        r = client.get(url, params={"cycle_id": city["c1"]}, headers=auth("distribution_center"))
        assert r.status_code == 403
        assert client.get(url, params={"cycle_id": city["c1"]}).status_code == 401


def test_refusals(client, auth, city):
    a = auth("auditor")

    def status(**params):
        r = client.get("/v1/accuracy", params=params, headers=a)
        return r.status_code, r.json()["code"]

    assert status()[0] == 422                                               # neither cycle nor range
    assert status(**{"from": "2025-03-01"})[0] == 422                       # half a range
    assert status(**{"from": "2025-03-31", "to": "2025-03-01"})[0] == 422   # reversed
    assert status(cycle_id=city["c1"], **MARCH)[0] == 422                   # both
    assert status(**{"from": "March", "to": "2025-03-31"})[0] == 422
    assert status(cycle_id=city["c1"], level="retailer")[0] == 422
    assert status(cycle_id=city["c1"], limit=1001)[0] == 422
    assert status(cycle_id=city["c1"], cursor="garbage")[0] == 422
    assert status(cycle_id="999999") == (404, "not_found")
    assert status(cycle_id=city["c3"]) == (409, "cycle_state")            # planned: demand not final


@pytest.mark.parametrize("level, params", [("manager", MARCH), ("spec", {"cycle_id": None})])
def test_pages_walk_the_whole_list(client, auth, city, level, params):
    params = {k: (city["c1"] if v is None else v) for k, v in params.items()}
    a = auth("auditor")
    whole = get(client, a, level=level, limit=1000, **params)["items"]
    for limit in (1, 2, 4):
        seen, cursor = [], None
        while True:
            body = get(client, a, level=level, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
            assert len(body["items"]) <= limit
            seen += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == whole


@pytest.mark.parametrize("level", ["manager", "spec"])
def test_csv_export_has_the_contract_columns_and_the_same_figures(client, auth, city, level):
    headers = auth("market_manager", "MM1")
    params = {"cycle_id": city["c1"], "level": level}
    r = client.get("/v1/accuracy.csv", params=params, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"by_{level}.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    columns = (["manager_id", "period", "single_brand_accuracy", "total_accuracy", "key_single_brand_accuracy",
                "key_total_accuracy", "bias", "rank"] if level == "manager"
               else ["manager_id", "period", "brand_code", "forecast", "actual", "accuracy"])
    assert r.text.splitlines()[0] == ",".join(columns)
    items = get(client, headers, limit=1000, **params)["items"]
    assert len(rows) == len(items) > 0
    for row, item in zip(rows, items):
        for col in columns:
            want = item[col]
            if want is None:
                assert row[col] == ""
            elif isinstance(want, float):
                assert float(row[col]) == want
            else:
                assert row[col] == str(want)


def test_csv_leaves_empty_figures_empty(client, auth, city):
    r = client.get("/v1/accuracy.csv", params={"cycle_id": city["c1"], "manager_id": "M3"}, headers=auth("admin"))
    assert r.text.splitlines()[1] == f"M3,{city['c1']},0.0,0.0,,,,3"


def test_a_cycle_without_forecasts_or_orders_scores_nobody(client, auth, city, session, company):
    empty = Seed(session, company.id).cycle("2025-W20", date(2025, 5, 12), "published")
    session.commit()
    for level in ("manager", "spec"):
        assert get(client, auth("auditor"), cycle_id=str(empty), level=level)["items"] == []
        r = client.get("/v1/accuracy.csv", params={"cycle_id": str(empty), "level": level}, headers=auth("auditor"))
        assert r.status_code == 200 and len(r.text.splitlines()) == 1
    assert get(client, auth("auditor"), **{"from": "2026-01-01", "to": "2026-12-31"})["items"] == []


def test_openapi_says_ranks_come_before_the_scope_filter(client):
    spec = client.get("/openapi.json").json()
    for path in ("/v1/accuracy", "/v1/accuracy.csv"):
        text = spec["paths"][path]["get"]["description"]
        assert "Ranks are computed over all managers of the company" in text and "planned" in text
    assert "planned" in spec["paths"]["/v1/cycles/{cycle_id}/forecasts/{manager_id}"]["put"]["description"]


@pytest.mark.parametrize("manager", ["M1", "M2", "M3"])
def test_a_managers_trend_is_his_row_of_each_cycles_score(client, auth, city, session, company, manager):
    from models import accuracy
    from models.tables import Cycle
    from models.users import Principal

    auditor = Principal(0, company.id, "auditor", "auditor", None)
    cycles = [session.get(Cycle, int(city[c])) for c in ("c4", "c2", "c1")]
    trend = accuracy.trend(session, auditor, manager, cycles)
    each = pd.concat([accuracy.score(session, auditor, accuracy.AccuracyQuery(cycle_id=str(c.id), manager_id=manager))
                      .rows for c in cycles])
    assert len(trend) and set(trend["period"]) <= {city["c1"], city["c2"], city["c4"]}
    pd.testing.assert_frame_equal(trend.sort_values("period").reset_index(drop=True),
                                  each.sort_values("period").reset_index(drop=True), check_dtype=False)


def test_kept_ranks_follow_a_move_a_key_flag_and_a_new_close(client, auth, city, session, company):
    from sqlalchemy import delete, func, select

    from models.tables import Brand, Cycle, Retailer
    from models.tables_demand import AccuracyKept, OrderLine
    from models.types import utcnow

    def read() -> str:
        return repr(get(client, auth("auditor"), cycle_id=city["c1"])["items"])  # repr: NaN equals NaN

    def afresh() -> str:
        session.execute(delete(AccuracyKept))
        session.commit()
        return read()

    first = read()
    assert session.execute(select(func.count()).select_from(AccuracyKept)).scalar_one() == 1
    assert read() == first == afresh()
    line = lambda: session.execute(select(OrderLine).where(  # noqa: E731
        OrderLine.cycle_id == int(city["c1"]), OrderLine.retailer_id == "R3", OrderLine.brand_code == "K")).scalar_one()

    def new_close():
        line().quantity += 9
        session.get(Cycle, int(city["c1"])).closed_at = utcnow()

    for change in (lambda: setattr(session.get(Retailer, (company.id, "R3")), "manager_id", "M1"),
                   lambda: setattr(session.get(Brand, (company.id, "A")), "is_key", True),
                   new_close):
        before = read()
        change()
        session.commit()
        got = read()
        assert got != before and got == afresh()
