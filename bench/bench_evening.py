"""A provincial evening: the cycles of N city companies close at once and their runs go through the queue.

Run: python -m bench.bench_evening [--companies 12] [--retailers N] [--workers 1 2]. On a fresh PostgreSQL
database (BENCH_PG_URL or TEST_PG_URL names the server's admin database, dropped at the end) it loads N generated
cities (each its own seed) with one closed cycle each, starts one API process with RUNS_EXECUTOR=queue, then for
each worker count starts that many `tobacco-alloc worker` processes, POSTs every company's run at once and waits
for all. Prints the makespan (first POST to last run finished), each run's queue wait (created -> started) and
execution (started -> finished), and the makespan with 1 worker as the baseline for the others. Asserts no time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from allocation.vocabulary import RunState
from bench.bench_runs import analyze, load_city
from bench.common import console, database, free_port, start_server, usable_cores
from fixtures.city import generate_city, generate_cycle
from models.db import make_engine
from models.migrate import upgrade


def start_workers(url: str, n: int, engine) -> list[subprocess.Popen]:
    """n worker processes, as deployed; returns once each has registered its heartbeat."""
    env = {**os.environ, "DATABASE_URL": url, "RUNS_EXECUTOR": "queue"}
    procs = [subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--concurrency", "1"], env=env,
                              stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    deadline = time.monotonic() + 120
    while count(engine, "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '30 s'") < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit("the workers did not start")
        time.sleep(0.2)
    return procs


def count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def stop(procs: list[subprocess.Popen], engine) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(120)
    with engine.begin() as conn:  # a stopped worker unregisters itself; make sure the next round starts clean
        conn.execute(text("DELETE FROM procrastinate_workers"))


def evening(base: str, runs: list[tuple[str, int, str]], engine) -> tuple[float, list[dict]]:
    """POST every company's run at once, wait for all; the makespan and each run's times (from the run rows)."""
    def post(job):
        code, cycle_id, token = job
        r = httpx.post(f"{base}/v1/cycles/{cycle_id}/allocation-runs", headers={"Authorization": f"Bearer {token}"},
                       timeout=60)
        r.raise_for_status()
        return code, int(r.json()["run_id"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(runs)) as pool:
        posted = list(pool.map(post, runs))
    ids = [run_id for _, run_id in posted]
    while count(engine, f"SELECT count(*) FROM allocation_run WHERE id IN ({','.join(map(str, ids))}) "
                        "AND status IN ('queued', 'running')"):
        time.sleep(0.1)
    makespan = time.perf_counter() - t0
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.code, r.status, r.error, extract(epoch FROM r.started_at - r.created_at) AS wait, "
            "extract(epoch FROM r.finished_at - r.started_at) AS exec, r.totals->>'lines' AS lines, "
            "(r.timings->>'total_s')::float AS inside "
            f"FROM allocation_run r JOIN company c ON c.id = r.company_id WHERE r.id IN ({','.join(map(str, ids))}) "
            "ORDER BY r.started_at")).mappings().all()
    failed = [r for r in rows if r["status"] != RunState.SUCCEEDED]
    if failed:
        raise SystemExit(f"runs failed: {failed}")
    return makespan, [{**r, "wait": float(r["wait"]), "exec": float(r["exec"])} for r in rows]


def report(results: dict, companies: int) -> None:
    """The figures the README quotes: makespan against the first worker count, waits and executions."""
    first = next(iter(results))
    console.print(f"a provincial evening: {companies} city runs at once through the queue ({os.cpu_count()} cores)")
    for n, (makespan, runs) in results.items():
        waits, execs = [r["wait"] for r in runs], [r["exec"] for r in runs]
        start = [r["exec"] - r["inside"] for r in runs]
        console.print(f"  {n} worker(s): makespan {makespan:6.1f} s ({results[first][0] / makespan:.2f}x the makespan "
                      f"with {first}); sum of executions {sum(execs):6.1f} s; queue wait median "
                      f"{statistics.median(waits):5.1f} s, max {max(waits):5.1f} s; execution median "
                      f"{statistics.median(execs):5.1f} s, max {max(execs):5.1f} s (of which the run's process "
                      f"start, median {statistics.median(start):4.1f} s)")
    for n, (_, runs) in results.items():
        console.print(f"  {n} worker(s), in start order: " + ", ".join(
            f"{r['code']} wait {r['wait']:.1f} + exec {r['exec']:.1f}" for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=12)
    parser.add_argument("--retailers", type=int, default=None, help="per company (default: the city scale, 30,000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    console.print(f"cores available: {usable_cores()} (machine: {os.cpu_count()}); load average before: "
                  f"{os.getloadavg()[0]:.1f}")
    with database("postgresql") as url:
        engine = make_engine(url, pool_size=2)
        upgrade(engine)
        jobs, t, lines = [], time.perf_counter(), 0
        for i in range(args.companies):
            city = generate_city(scale="city", seed=100 + i, retailers=args.retailers)
            cycle = generate_cycle(city, seed=100 + i)
            code = f"city{i + 1:02d}"
            cycle_id, tokens = load_city(engine, city, cycle, code=code, statistics=False)
            jobs.append((code, cycle_id, tokens["admin"]))
            lines += len(cycle.demand)
        analyze(engine)
        console.print(f"loaded {args.companies} companies, {lines:,} demand lines in {time.perf_counter() - t:.0f} s")
        port = free_port()
        api = start_server(url, port, workers=1, RUNS_EXECUTOR="queue")
        results = {}
        try:
            for n in args.workers:
                workers = start_workers(url, n, engine)
                try:
                    results[n] = evening(f"http://127.0.0.1:{port}", jobs, engine)
                finally:
                    stop(workers, engine)
        finally:
            api.terminate()
            api.wait(60)
        engine.dispose()
    report(results, args.companies)
    console.print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
