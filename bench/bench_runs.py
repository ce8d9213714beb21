"""Times a city's allocation run end to end and the distribution center's pull of the published result, over HTTP.

Run: python -m bench.bench_runs [--database postgresql|sqlite] [--scale city|province] [--retailers N]. The cycle is
loaded open and closed through the API; at province scale (400,000 retailers, ~8 M lines) the paged pull is left out
(the CSV export is the distribution center's whole-cycle path; the pick list is timed) and so is the in-memory
baseline, whose figures `bench_allocation` gives. The worker process's peak memory is read from /proc while it
runs. On PostgreSQL it creates a fresh database (BENCH_PG_URL or TEST_PG_URL names the server's admin database)
and drops it at the end. Baselines are
measured in the same run: the pure solve on in-memory frames for the run, a plain SELECT of the published rows
for the pull. Prints seconds, ratios and the core count; asserts no time, only that every row arrives once.
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import repeat

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from allocation.problem import Problem
from allocation.engine import allocate
from bench.common import database, free_port, load_master, start_server, usable_cores
from fixtures.city import generate_city, generate_cycle
from models.db import bulk_insert, copy_frame, make_engine
from models.migrate import upgrade
from models.tables import Cap, Cycle, Supply
from models.tables_demand import Order, OrderLine
from models.types import utcnow
from models.users import create_user, get_or_create_company

APPROVED_SHARE = 0.9  # collected orders signed off before close; the rest are left out of the run
PAGE = 1000


def load_city(engine, city, cycle, code: str = "bench", statistics: bool = True) -> tuple[int, dict[str, str]]:
    """Master data through the loader, the closed cycle's supply, caps and orders in bulk; returns cycle id, tokens."""
    with Session(engine, expire_on_commit=False) as session:
        company = get_or_create_company(session, code, f"Bench city {code}")
        load_master(session, company.id, city)
        admin, admin_token = create_user(session, company.id, "admin", name="bench-admin")
        _, dc_token = create_user(session, company.id, "distribution_center", name="bench-dc")
        now = utcnow()
        row = Cycle(company_id=company.id, name=cycle.period, start_date=date(2026, 11, 16),
                    end_date=date(2026, 11, 22), opens_at=now - timedelta(days=2), status="open")
        session.add(row)
        session.flush()
        cid, co = row.id, company.id
        bulk_insert(session, Supply.__table__, ["cycle_id", "brand_code", "company_id", "quantity"],
                    zip(repeat(cid), cycle.supply.brand_code.tolist(), repeat(co), cycle.supply.quantity.tolist()))
        basis = "{}" if engine.dialect.name == "postgresql" else {}  # COPY takes JSON as text
        bulk_insert(session, Cap.__table__,
                    ["cycle_id", "retailer_id", "company_id", "cap", "weight", "source", "basis", "updated_at"],
                    zip(repeat(cid), cycle.caps.retailer_id.tolist(), repeat(co), cycle.caps.cap.tolist(),
                        repeat(1), repeat("computed"), repeat(basis), repeat(now)))
        demand = cycle.demand[cycle.demand.retailer_id.isin(set(cycle.caps.retailer_id))]
        orders = demand.groupby("retailer_id", as_index=False).agg(total=("quantity", "sum"), channel=("channel", "first"))
        rng = np.random.default_rng(11)
        approved = np.where((orders.channel == "collected") & (rng.random(len(orders)) < APPROVED_SHARE), 1, None)
        bulk_insert(session, Order.__table__,
                    ["cycle_id", "retailer_id", "company_id", "version", "channel", "body_sha256", "total",
                     "submitted_by", "submitted_at", "approved_version"],
                    zip(repeat(cid), orders.retailer_id.tolist(), repeat(co), repeat(1), orders.channel.tolist(),
                        repeat("0" * 64), orders.total.astype(int).tolist(), repeat(admin.id), repeat(now),
                        approved.tolist()))
        with keys_checked_after(session, OrderLine.__table__.name):
            copy_frame(session, OrderLine.__table__,
                       pd.DataFrame({"cycle_id": cid, "retailer_id": demand.retailer_id, "brand_code": demand.brand_code,
                                     "company_id": co, "quantity": demand.quantity.astype("int64")}))
        session.commit()
    if statistics:
        analyze(engine)
    return cid, {"admin": admin_token, "dc": dc_token}


@contextmanager
def keys_checked_after(session: Session, table: str):
    """A bulk load's foreign keys checked once, over the whole table, after the load, instead of row by row (PostgreSQL).

    The keys are dropped and added back in the load's transaction, so they hold when it commits (adding one checks
    every row); a province's 8 M order lines load in a few minutes this way instead of ten.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    keys = session.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"), {"t": table}).all()
    for name, _ in keys:
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    yield
    for name, definition in keys:
        session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


def analyze(engine) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def solve_only(city, cycle) -> tuple[float, int]:
    """The baseline for the run: validate and allocate the same demand from memory, no database at all."""
    demand = cycle.demand[cycle.demand.retailer_id.isin(set(cycle.caps.retailer_id))]
    t = time.perf_counter()
    result = allocate(Problem.from_frames(demand[["retailer_id", "brand_code", "quantity"]], cycle.supply, cycle.caps))
    return time.perf_counter() - t, len(result.allocations)


@contextmanager
def serve(url: str):
    """The API under uvicorn in its own process on a free local port, as a warehouse system would reach it."""
    port = free_port()
    proc = start_server(url, port, workers=1, RUN_IN_PROCESS="false")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class PeakMemory:
    """The largest resident size any process executing a run reached (VmHWM), polled from /proc while it runs."""

    def __init__(self) -> None:
        self.peak_mb = 0.0

    def poll(self) -> None:
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if b"executor.child" not in fh.read():
                        continue
                with open(f"/proc/{pid}/status") as fh:
                    hwm = next(line for line in fh if line.startswith("VmHWM:"))
                self.peak_mb = max(self.peak_mb, int(hwm.split()[1]) / 1024)
            except (OSError, StopIteration):
                continue


def report_run(run: dict, wall: float, memory: PeakMemory) -> None:
    """The run's figures, printed as soon as it has succeeded."""
    tm, cert = run["timings"], run["certificate"]
    print(f"run {run['run_id']}: {run['totals']['lines']:,} lines, {run['totals']['excluded_orders']} collected orders "
          f"left out; volume {cert['volume']:,} of max {cert['max_volume']:,}, {cert['fairness_violations']} violations")
    print(f"run, POST to succeeded (worker process): {wall:7.2f} s; its process's peak memory {memory.peak_mb:,.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  inside the worker: read {tm['read_s']:.2f} s, solve {tm['solve_s']:.2f} s, write {tm['write_s']:.2f} s, "
          f"total {tm['total_s']:.2f} s (queued {tm['queued_s']:.2f} s); engine: {tm.get('engine')}", flush=True)


def pull(client: httpx.Client, path: str) -> tuple[float, list]:
    """Every item of a paged list, page by page, with the wall time."""
    t, items, cursor = time.perf_counter(), [], None
    while True:
        r = client.get(path, params={"limit": PAGE, **({"cursor": cursor} if cursor else {})})
        r.raise_for_status()
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return time.perf_counter() - t, items


def main() -> None:
    """Prints the figures the README quotes for runs and the pull."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--scale", choices=["city", "province"], default="city")
    parser.add_argument("--retailers", type=int, default=None, help="retailers (default: the scale's)")
    args = parser.parse_args()
    cores = usable_cores()
    province = args.scale == "province"
    t = time.perf_counter()
    city = generate_city(scale=args.scale, retailers=args.retailers, weeks=1 if province else 12)
    cycle = generate_cycle(city)
    print(f"generated {len(city.retailers):,} retailers, {len(cycle.demand):,} demand lines "
          f"in {time.perf_counter() - t:.1f} s; cores available: {cores} (machine: {os.cpu_count()}), "
          f"load average {os.getloadavg()[0]:.1f}")
    base_solve, lines = (None, 0) if province else solve_only(city, cycle)
    with database(args.database) as url:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        cid, tokens = load_city(engine, city, cycle)
        print(f"{args.database}: loaded the closed cycle in {time.perf_counter() - t:.1f} s")
        with serve(url) as base:
            admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=900)
            dc = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['dc']}"}, timeout=300)
            t = time.perf_counter()
            admin.post(f"/v1/cycles/{cid}/close").raise_for_status()
            close_s = time.perf_counter() - t
            print(f"close over HTTP: {close_s:.2f} s", flush=True)
            memory = PeakMemory()
            t = time.perf_counter()
            run_id = admin.post(f"/v1/cycles/{cid}/allocation-runs").raise_for_status().json()["run_id"]
            while (run := admin.get(f"/v1/allocation-runs/{run_id}").json())["status"] in ("queued", "running"):
                memory.poll()
                time.sleep(0.1)
            wall = time.perf_counter() - t
            if run["status"] != "succeeded":
                raise SystemExit(f"run failed: {run['error']}")
            report_run(run, wall, memory)
            t = time.perf_counter()
            admin.post(f"/v1/allocation-runs/{run_id}/publish").raise_for_status()
            publish_s = time.perf_counter() - t
            print(f"publish over HTTP: {publish_s:.2f} s", flush=True)
            with engine.connect() as conn:
                t = time.perf_counter()
                plain = conn.execute(text("SELECT count(*) FROM allocation WHERE run_id = :r" if province else
                                          "SELECT * FROM allocation WHERE run_id = :r"), {"r": int(run_id)}).all()
                select_s = time.perf_counter() - t
            pull_s, items = (0.0, []) if province else pull(dc, f"/v1/cycles/{cid}/allocations")
            t = time.perf_counter()
            with dc.stream("GET", f"/v1/cycles/{cid}/allocations.csv") as r:
                csv_lines = sum(chunk.count("\n") for chunk in r.iter_text()) - 1
            csv_s = time.perf_counter() - t
            pick_s, picks = pull(dc, f"/v1/cycles/{cid}/pick-list")
            if province:
                print(f"CSV export over HTTP, {csv_lines:,} rows: {csv_s:7.2f} s; rows stored {plain[0][0]:,}")
                print(f"pick list over HTTP, {len(picks)} specs: {pick_s:7.2f} s; cartons match: "
                      f"{sum(p['cartons'] for p in picks) == run['totals']['allocated']}; "
                      f"load average {os.getloadavg()[0]:.1f}")
                return
        engine.dispose()
    keys = {(x["retailer_id"], x["brand_code"]) for x in items}
    print(f"baseline, pure solve from memory:        {base_solve:7.2f} s ({lines:,} lines)")
    print(f"  ratio run wall / pure solve:           {wall / base_solve:7.2f}x")
    print(f"pull over HTTP, {len(items):,} rows in pages of {PAGE}: {pull_s:7.2f} s "
          f"({len(items) / pull_s:,.0f} rows/s); every row once: {len(keys) == len(items) == len(plain)}")
    print(f"baseline, plain SELECT of the rows:      {select_s:7.2f} s; ratio pull / select {pull_s / select_s:.1f}x")
    print(f"CSV export over HTTP, {csv_lines:,} rows:    {csv_s:7.2f} s; ratio csv / select {csv_s / select_s:.1f}x")
    print(f"pick list, {len(picks)} specs:                  {pick_s:7.2f} s; "
          f"cartons match: {sum(p['cartons'] for p in picks) == run['totals']['allocated']}")


if __name__ == "__main__":
    main()
