"""Every console page at city scale (30,000 retailers, a published cycle), each against its JSON route.

Run: python -m bench.bench_console [--database postgresql|sqlite] [--retailers N] [--requests N]. Builds the city
(eight weeks of history, a published cycle with forecasts and a scenario, an open cycle with its orders, a planned
cycle for the supply plan), serves the API as deployed (uvicorn, one worker) and asks each page and the JSON route
serving the same data N times in turn, one request at a time over keep-alive, after three of each to warm them
(the first request after a publication computes what a final cycle keeps). Prints p50 and p95 of each (on this
loopback, the server's time plus a fraction of a millisecond) and the ratio page / JSON of the p95s, with the core
count and the load average. Asserts no time, only 200s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlmodel import Session

from api.ui.session import TOKEN_COOKIE
from bench.bench_runs import analyze, load_city, serve
from bench.bench_scenarios import city_with_history, load_history, overrides
from bench.common import database, table
from models.db import make_engine
from models.forecasts import replace_forecast
from models.migrate import upgrade
from models.tables import Cycle
from models.types import utcnow
from models.users import Principal, create_user

def forecasts_and_more_cycles(engine, cid: int, cycle) -> dict:
    """Forecasts on the closed cycle (made while it was planned, through the model), then an open cycle with a copy
    of its orders and a planned one; users for every role. Returns ids and tokens."""
    with Session(engine, expire_on_commit=False) as s:
        closed = s.get(Cycle, cid)
        company = closed.company_id
        closed.status, closed.opens_at = "planned", utcnow() + timedelta(days=1)
        s.flush()
        for manager_id, lines in cycle.forecasts.groupby("manager_id", sort=True):
            user, _ = create_user(s, company, "account_manager", name=f"am-{manager_id}", manager_id=str(manager_id))
            replace_forecast(s, Principal(user.id, company, "account_manager", user.name, str(manager_id)), str(cid),
                             str(manager_id), lines[["brand_code", "quantity"]].to_dict("records"))
        closed.status, closed.opens_at = "closed", utcnow() - timedelta(days=2)
        now = utcnow()
        open_cycle = Cycle(company_id=company, name="open", start_date=closed.start_date + timedelta(weeks=1),
                           end_date=closed.end_date + timedelta(weeks=1), opens_at=now - timedelta(hours=1),
                           status="planned")
        planned = Cycle(company_id=company, name="planned", start_date=closed.start_date + timedelta(weeks=2),
                        end_date=closed.end_date + timedelta(weeks=2), opens_at=now + timedelta(days=5),
                        status="planned")
        s.add_all([open_cycle, planned])
        s.flush()
        for table_name, cols in (("retailer_order", "retailer_id, company_id, version, channel, body_sha256, total, "
                                                    "submitted_by, submitted_at, approved_version"),
                                 ("order_line", "retailer_id, brand_code, company_id, quantity"),
                                 ("cap", "retailer_id, company_id, cap, weight, source, policy_version, basis, "
                                         "updated_at")):
            s.execute(text(f"INSERT INTO {table_name} (cycle_id, {cols}) SELECT :new, {cols} FROM {table_name} "
                           "WHERE cycle_id = :old"), {"new": open_cycle.id, "old": cid})
        manager = str(cycle.forecasts.manager_id.min())
        boss = s.execute(text("SELECT market_manager_id FROM manager WHERE company_id = :c AND manager_id = :m"),
                         {"c": company, "m": manager}).scalar_one()
        retailer = s.execute(text("SELECT retailer_id FROM retailer_order WHERE cycle_id = :c AND retailer_id IN "
                                  "(SELECT retailer_id FROM retailer WHERE company_id = :co AND manager_id = :m) "
                                  "ORDER BY retailer_id LIMIT 1"),
                             {"c": open_cycle.id, "co": company, "m": manager}).scalar_one()
        route, day = s.execute(text("SELECT route_id, delivery_weekday FROM retailer WHERE company_id = :c AND "
                                    "retailer_id = :r"), {"c": company, "r": retailer}).one()
        tokens = {role: create_user(s, company, role, name=f"console-{role}")[1] for role in ("auditor",)}
        tokens["market_manager"] = create_user(s, company, "market_manager", name="console-mm", manager_id=boss)[1]
        tokens["account_manager"] = create_user(s, company, "account_manager", name="console-am",
                                                manager_id=manager)[1]
        s.commit()
        return {"open": open_cycle.id, "planned": planned.id, "manager": manager, "retailer": retailer,
                "route": route, "day": day, "tokens": tokens}


def pairs(w: dict) -> list[tuple[str, str, str, str]]:
    """(role, page, equivalent JSON route, what) for every console page."""
    cid, run_id, o, p, m, r = w["published"], w["run"], w["open"], w["planned"], w["manager"], w["retailer"]
    sc = w["scenario"]
    return [
        ("admin", "/ui/cycles", "/v1/cycles?limit=20", "cycle board"),
        ("admin", f"/ui/cycles/{cid}", f"/v1/cycles/{cid}/summary", "one cycle (published)"),
        ("admin", f"/ui/cycles/{o}", f"/v1/cycles/{o}/summary", "one cycle (open)"),
        ("admin", f"/ui/runs/{run_id}", f"/v1/allocation-runs/{run_id}", "one run"),
        ("admin", f"/ui/supply-plan/{p}", f"/v1/cycles/{p}/supply-plan?limit=50", "supply plan"),
        ("admin", f"/ui/scenarios/{sc}", f"/v1/scenarios/{sc}", "scenario"),
        ("auditor", "/ui/audit", "/v1/audit-events?limit=50", "audit log"),
        ("auditor", f"/ui/accuracy?cycle_id={cid}", f"/v1/accuracy?cycle_id={cid}", "accuracy ranks"),
        ("auditor", f"/ui/accuracy/managers/{m}", f"/v1/accuracy?cycle_id={cid}&manager_id={m}&level=spec",
         "one manager's trend and errors"),
        ("auditor", f"/ui/compliance?cycle_id={cid}", f"/v1/compliance?cycle_id={cid}", "compliance"),
        ("market_manager", f"/ui/approvals?cycle_id={o}",
         f"/v1/cycles/{o}/orders?status=pending_approval&limit=50", "approvals"),
        ("account_manager", f"/ui/orders?cycle_id={o}", f"/v1/cycles/{o}/orders?limit=100", "his retailers"),
        ("account_manager", f"/ui/orders/{o}/{r}", f"/v1/cycles/{o}/orders/{r}", "order form"),
        ("account_manager", f"/ui/forecasts?cycle_id={p}", f"/v1/cycles/{p}/forecasts?limit=100", "forecast form"),
        ("distribution_center", "/ui/distribution", "/v1/publications", "publications"),
        ("distribution_center", f"/ui/distribution/{cid}?route_id={w['route']}&delivery_weekday={w['day']}",
         f"/v1/cycles/{cid}/pick-list?route_id={w['route']}&delivery_weekday={w['day']}&limit=1000", "pick list"),
    ]


def latencies(client: httpx.Client, path: str, n: int, **kw) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, **kw)
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def build(url: str, city, cycle) -> dict:
    """The city in the database at url: master data, history, the closed cycle with forecasts, the open and the
    planned cycle, a user per role. Returns the world's ids and tokens (run and scenario come from `publish`)."""
    engine = make_engine(url)
    upgrade(engine)
    cid, tokens = load_city(engine, city, cycle, statistics=False)
    load_history(engine, city)
    world = forecasts_and_more_cycles(engine, cid, cycle)
    analyze(engine)
    engine.dispose()
    world["tokens"] = {"admin": tokens["admin"], "distribution_center": tokens["dc"], **world["tokens"]}
    return {**world, "published": cid}


def wait(client: httpx.Client, path: str) -> dict:
    while (job := client.get(path).raise_for_status().json())["status"] in ("queued", "running"):
        time.sleep(0.2)
    if job["status"] != "succeeded":
        raise SystemExit(f"{path} failed: {job['error']}")
    return job


def publish(base: str, world: dict, cycle) -> dict:
    """Through the API: a run of the closed cycle, published, and a scenario against it."""
    cid = world["published"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {world['tokens']['admin']}"},
                      timeout=300) as admin:
        run_id = admin.post(f"/v1/cycles/{cid}/allocation-runs").raise_for_status().json()["run_id"]
        wait(admin, f"/v1/allocation-runs/{run_id}")
        scenario = admin.post(f"/v1/cycles/{cid}/scenarios", json=overrides(cycle)).raise_for_status().json()
        wait(admin, f"/v1/scenarios/{scenario['scenario_id']}")
        admin.post(f"/v1/allocation-runs/{run_id}/publish").raise_for_status()
    return {**world, "run": run_id, "scenario": scenario["scenario_id"]}


def measure(base: str, world: dict, requests: int) -> list[list]:
    """Each page against its JSON route, alternating; one table row per page."""
    rows = []
    for role, page, api, what in pairs(world):
        token = world["tokens"][role]
        with httpx.Client(base_url=base, timeout=60) as client:
            bearer = {"Authorization": f"Bearer {token}"}
            client.cookies.set(TOKEN_COOKIE, token, path="/ui")
            latencies(client, page, 3), latencies(client, api, 3, headers=bearer)  # warm both paths
            ui_t, api_t = [], []
            for _ in range(requests):  # alternate, so both see the same machine
                ui_t += latencies(client, page, 1)
                api_t += latencies(client, api, 1, headers=bearer)
        rows.append([f"{what} ({page.split('?')[0]})", 1000 * statistics.median(ui_t), 1000 * p95(ui_t),
                     1000 * statistics.median(api_t), 1000 * p95(api_t), p95(ui_t) / p95(api_t)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--retailers", type=int, default=None, help="retailers (default: the city scale, 30,000)")
    parser.add_argument("--requests", type=int, default=40, help="requests per page and per JSON route")
    args = parser.parse_args()
    city, cycle, generated = city_with_history(args.retailers)
    print(generated, flush=True)
    with database(args.database) as url:
        t = time.perf_counter()
        world = build(url, city, cycle)
        print(f"{args.database}: loaded the cycles in {time.perf_counter() - t:.1f} s", flush=True)
        with serve(url) as base:
            rows = measure(base, publish(base, world, cycle), args.requests)
    from rich.console import Console

    Console().print(table(f"console pages at {len(city.retailers):,} retailers, {args.database}, "
                          f"{args.requests} requests each (ms; load average {os.getloadavg()[0]:.1f})",
                          ["page", "page p50", "page p95", "JSON p50", "JSON p95", "p95 ratio"], rows))


if __name__ == "__main__":
    main()
