"""Times a city scenario, POST to succeeded, against a run of the same cycle in the same bench run, and the supply
plan of the next cycle over eight weeks of the city's demand.

Run: python -m bench.bench_scenarios [--database postgresql|sqlite] [--retailers N] [--pairs 3]. Runs and
scenarios alternate (run, scenario, run, scenario, ...), each POST answered by a worker process as in
production; the figures are medians and the ratio is the median of the paired ratios. Never asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import httpx
from sqlmodel import Session, select

from allocation.vocabulary import RunState
from bench.bench_runs import load_city, serve
from bench.common import database, usable_cores
from fixtures.city import generate_city, generate_cycle
from fixtures.writer import frames_for
from models.db import make_engine
from models.load import load_dir
from models.migrate import upgrade
from models.tables import Company

HISTORY_WEEKS = 8


def wait(client: httpx.Client, path: str) -> dict:
    while (body := client.get(path).raise_for_status().json())["status"] in ("queued", "running"):
        time.sleep(0.05)
    return body


def timed_post(client: httpx.Client, path: str, body: dict | None, poll: str, key: str) -> tuple[float, dict]:
    t = time.perf_counter()
    made = client.post(path, json=body).raise_for_status().json()
    done = wait(client, poll.format(made[key]))
    if done["status"] != RunState.SUCCEEDED:
        raise SystemExit(f"{path} failed: {done['error']}")
    return time.perf_counter() - t, done


def overrides(cycle) -> dict:
    """What an admin would try: the short specs' supply up by a fifth, and one retailer in ten's cap up by 10 %."""
    supply = [{"brand_code": b, "quantity": int(q * 1.2)} for b, q in zip(cycle.supply.brand_code, cycle.supply.quantity)]
    caps = cycle.caps.iloc[::10]
    return {"name": "more supply, some caps up", "supply": supply,
            "caps": [{"retailer_id": r, "cap": int(c * 1.1) + 1} for r, c in zip(caps.retailer_id, caps.cap)]}


def load_history(engine, city) -> float:
    """The city's weeks of history through the loader (it replaces the periods it covers)."""
    t = time.perf_counter()
    with Session(engine) as session, tempfile.TemporaryDirectory() as tmp:
        company = session.exec(select(Company).where(Company.code == "bench")).one()
        frames = frames_for(city)
        for name in ("managers", "retailers", "brands", "history"):
            frames[name].to_csv(f"{tmp}/{name}.csv", index=False)
        load_dir(session, company.id, tmp)
        session.commit()
    return time.perf_counter() - t


def city_with_history(retailers: int | None):
    """A city with HISTORY_WEEKS of history and its cycle, and a line saying what was generated on what machine."""
    t = time.perf_counter()
    city = generate_city(scale="city", retailers=retailers, weeks=HISTORY_WEEKS)
    cycle = generate_cycle(city)
    return city, cycle, (f"generated {len(city.retailers):,} retailers, {len(cycle.demand):,} demand lines, "
                         f"{len(city.history):,} history lines in {time.perf_counter() - t:.1f} s; cores available: "
                         f"{usable_cores()} (machine: {os.cpu_count()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--retailers", type=int, default=None, help="retailers (default: the city scale, 30,000)")
    parser.add_argument("--pairs", type=int, default=3, help="run/scenario pairs")
    args = parser.parse_args()
    city, cycle, generated = city_with_history(args.retailers)
    body = overrides(cycle)
    print(f"{generated}; scenario overrides: {len(body['supply'])} specs' supply, {len(body['caps']):,} caps")
    with database(args.database) as url:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        cid, tokens = load_city(engine, city, cycle)
        history_s = load_history(engine, city)
        print(f"{args.database}: loaded the closed cycle and {HISTORY_WEEKS} weeks of history in "
              f"{time.perf_counter() - t:.1f} s (history {history_s:.1f} s)")
        with serve(url) as base:
            admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=300)
            runs, scenarios, last = [], [], None
            for _ in range(args.pairs):
                run_s, run = timed_post(admin, f"/v1/cycles/{cid}/allocation-runs", None,
                                        "/v1/allocation-runs/{}", "run_id")
                sc_s, last = timed_post(admin, f"/v1/cycles/{cid}/scenarios", body, "/v1/scenarios/{}", "scenario_id")
                runs.append(run_s)
                scenarios.append(sc_s)
            t = time.perf_counter()
            changed = admin.get(f"/v1/scenarios/{last['id']}/allocations", params={"changed": "true", "limit": 1000})
            changed_s = time.perf_counter() - t
            nxt = admin.post("/v1/cycles", json={"name": "next", "start_date": "2026-11-23",
                                                 "end_date": "2026-11-29"}).raise_for_status().json()["id"]
            plan_s, plan = [], None
            for _ in range(3):
                t = time.perf_counter()
                plan = admin.get(f"/v1/cycles/{nxt}/supply-plan", params={"limit": 1000}).raise_for_status().json()
                plan_s.append(time.perf_counter() - t)
        engine.dispose()
    ratios = [s / r for s, r in zip(scenarios, runs)]
    tm, cert, comp = last["timings"], last["certificate"], last["comparison"]
    print(f"scenario {last['id']}: {last['totals']['lines']:,} lines; volume {cert['volume']:,} of max "
          f"{cert['max_volume']:,}, {cert['fairness_violations']} violations; against run {last['compared_run_id']}: volume "
          f"{comp['volume_change']:+,}, fill ratio {comp['fill_ratio_change']:+.4f}, {comp['retailers_changed']:,} "
          f"retailers changed")
    print(f"run, POST to succeeded:       median {statistics.median(runs):6.2f} s  (each: "
          f"{', '.join(f'{x:.2f}' for x in runs)})")
    print(f"scenario, POST to succeeded:  median {statistics.median(scenarios):6.2f} s  (each: "
          f"{', '.join(f'{x:.2f}' for x in scenarios)})")
    print(f"  inside the worker: read {tm['read_s']:.2f} s, solve {tm['solve_s']:.2f} s, write {tm['write_s']:.2f} s, "
          f"compare {tm['compare_s']:.2f} s, total {tm['total_s']:.2f} s (queued {tm['queued_s']:.2f} s)")
    print(f"ratio scenario / run (median of {len(ratios)} pairs): {statistics.median(ratios):.2f}x  "
          f"(each: {', '.join(f'{x:.2f}' for x in ratios)})")
    print(f"first page of changed rows (?changed=true): {changed_s:.2f} s, {len(changed.json()['items'])} rows")
    print(f"supply plan of the next cycle ({plan['totals']['specs']} specs from {len(plan['weeks'])} weeks, "
          f"{plan['managers']} managers): best {min(plan_s):.2f} s, median {statistics.median(plan_s):.2f} s")


if __name__ == "__main__":
    main()
