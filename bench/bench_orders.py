"""Times a city cycle's demand import against the one-order-at-a-time PUT path, and single PUTs at a fixed rate.

Run: python -m bench.bench_orders [--retailers N] [--rate 200] [--seconds 20] [--sample 300]
Needs PostgreSQL (BENCH_PG_URL or TEST_PG_URL, an admin URL); creates a fresh database and drops it afterwards.
Starts the API with uvicorn on a free local port. Prints a table; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import subprocess
import time
from collections import Counter
from contextlib import ExitStack
from datetime import date, timedelta

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlmodel import Session

from allocation.vocabulary import RetailerStatus
from bench.common import free_port, fresh_pg_database, load_master, start_server
from fixtures.city import generate_city, generate_cycle
from models.db import bulk_insert, make_engine
from models.migrate import upgrade
from models.tables import Cap, Cycle
from models.types import utcnow
from models.users import create_user, get_or_create_company

MAX_IN_FLIGHT = 400

def prepare(url: str, city, cycle) -> dict:
    """Schema, master data, two open cycles (import, baseline), caps, and a token per role and manager."""
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        company = get_or_create_company(s, "bench", "Bench")
        load_master(s, company.id, city)
        ids = {}
        for name in ("import", "baseline"):
            c = Cycle(company_id=company.id, name=name, start_date=date(2026, 11, 23),
                      end_date=date(2026, 11, 29), opens_at=utcnow() - timedelta(hours=1))
            s.add(c)
            s.flush()
            ids[name] = c.id
        now = utcnow()
        bulk_insert(s, Cap.__table__, ["cycle_id", "retailer_id", "company_id", "cap", "weight", "source", "basis",
                                       "updated_at"],
                    ((ids["import"], r, company.id, int(q), 1, "set", "{}", now) for r, q in
                     cycle.caps[["retailer_id", "cap"]].itertuples(index=False, name=None)))
        tokens = {"admin": create_user(s, company.id, "admin", name="admin")[1]}
        for mid in city.managers["manager_id"]:
            tokens[mid] = create_user(s, company.id, "account_manager", name=f"am-{mid}", manager_id=mid)[1]
        s.commit()
    engine.dispose()
    return {"cycles": ids, "tokens": {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}}


def timed_import(base: str, cycle_id: int, csv: bytes, headers: dict) -> tuple[float, dict]:
    """One import request, gzip-compressed as a city's file would be sent (compression not timed)."""
    packed = gzip.compress(csv, compresslevel=6)
    t = time.perf_counter()
    r = httpx.post(f"{base}/v1/cycles/{cycle_id}/orders/import", content=packed, timeout=900,
                   headers={**headers, "Content-Type": "text/csv", "Content-Encoding": "gzip"})
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise RuntimeError(f"import failed: {r.status_code} {r.text[:500]}")
    return elapsed, r.json()


def settle(url: str) -> None:
    """Flush the imports' WAL and statistics before the latency test, as a quiet hour would (needs superuser)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
        try:
            conn.execute(text("CHECKPOINT"))
        except Exception as exc:  # noqa: BLE001 - a plain role may not checkpoint; the run goes on and says so
            print(f"no CHECKPOINT before the latency test: {exc.__class__.__name__}")
    engine.dispose()


def order_bodies(demand: pd.DataFrame) -> dict[str, dict]:
    """Each retailer's order as a PUT body."""
    out = {}
    for rid, g in demand.groupby("retailer_id", sort=False):
        out[rid] = {"lines": [{"brand_code": b, "quantity": int(q)} for b, q in zip(g.brand_code, g.quantity)],
                    "channel": g.channel.iat[0]}
    return out


def baseline_puts(base: str, cycle_id: int, sample: list[str], bodies: dict, owner: dict, tokens: dict) -> float:
    """The naive way: one PUT per order, one after another; seconds per order over the sample."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(20):  # warm both workers' connection pools first, outside the timing
            client.get("/health")
        t = time.perf_counter()
        for rid in sample:
            r = client.put(f"/v1/cycles/{cycle_id}/orders/{rid}", json=bodies[rid], headers=tokens[owner[rid]])
            if r.status_code not in (200, 201):
                raise RuntimeError(f"baseline PUT failed: {r.status_code} {r.text[:300]}")
        return (time.perf_counter() - t) / len(sample)


async def open_loop(bases: list[str], cycle_id: int, rate: float, seconds: float, bodies: dict, owner: dict,
                    tokens: dict, seed: int = 11) -> dict:
    """Sends at fixed times whatever the answers do (open loop); latency counts from the scheduled send time.

    The lean client in bench/rawclient.py sends pre-encoded requests, so the client takes as little as possible
    of the cores it shares with the server. A request that would be the MAX_IN_FLIGHT-th unanswered one is not
    sent and counts as an error: the server is then far behind, and piling up more only measures the client.
    """
    from urllib.parse import urlsplit

    from bench.rawclient import encode
    from bench.rawclient import open_loop as raw_open_loop

    rng = np.random.default_rng(seed)
    rids = list(bodies)
    n = int(rate * seconds)
    picks = rng.integers(0, len(rids), n)
    per_base: list[list[bytes]] = [[] for _ in bases]
    for i in range(n):
        rid = rids[picks[i]]
        body = {**bodies[rid], "lines": [{**x, "quantity": (x["quantity"] + i) % 50} for x in bodies[rid]["lines"]]}
        base = urlsplit(bases[i % len(bases)])
        per_base[i % len(bases)].append(encode(
            "PUT", base.hostname, base.port, f"/v1/cycles/{cycle_id}/orders/{rid}", json.dumps(body).encode(),
            {**tokens[owner[rid]], "Content-Type": "application/json"}))
    runs = await asyncio.gather(*[
        raw_open_loop(urlsplit(b).hostname, urlsplit(b).port, reqs, rate / len(bases), MAX_IN_FLIGHT // len(bases))
        for b, reqs in zip(bases, per_base)])
    results = [o for outcomes, _, _ in runs for o in outcomes]
    wall = max(w for _, w, _ in runs)
    sent = [o for o in results if o.status != -1]
    lat = np.array([o.latency_s for o in sent] or [0.0]) * 1000
    ok = [o for o in sent if o.status in (200, 201)]
    dropped = len(results) - len(sent)
    return {"sent": len(sent), "wall_s": wall, "achieved_per_s": len(ok) / wall,
            "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "max_ms": float(lat.max()), "errors": len(sent) - len(ok) + dropped, "dropped": dropped,
            "max_send_lag_ms": 1000 * max((o.lag_s for o in sent), default=0.0),
            "statuses": dict(sorted(Counter(o.status for o in sent if o.status not in (200, 201)).items()))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--retailers", type=int, default=None, help="override the city scale's 30,000 retailers")
    ap.add_argument("--rate", type=float, default=200.0, help="PUTs per second in the open-loop part")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the open-loop part")
    ap.add_argument("--sample", type=int, default=300, help="orders PUT one by one for the naive baseline")
    ap.add_argument("--instances", type=int, default=1,
                    help="API instances for the open-loop part, requests spread round-robin (a load balancer)")
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn worker processes (as `tobacco-alloc serve`: one; with several, uvicorn's workers "
                         "answered 40 ms late here, as if TCP_NODELAY were lost)")
    args = ap.parse_args()

    t = time.perf_counter()
    city = generate_city(scale="city", retailers=args.retailers, weeks=2)
    cycle = generate_cycle(city)
    active = set(city.retailers.loc[city.retailers.status == RetailerStatus.ACTIVE, "retailer_id"])
    demand = cycle.demand[cycle.demand.retailer_id.isin(active)].reset_index(drop=True)
    csv = demand.to_csv(index=False).encode()
    print(f"generated {demand.retailer_id.nunique():,} orders, {len(demand):,} lines, {len(csv) / 1e6:.1f} MB "
          f"of CSV ({len(gzip.compress(csv)) / 1e6:.1f} MB gzipped) in {time.perf_counter() - t:.1f} s; "
          f"{os.cpu_count()} cores")
    databases = ExitStack()
    url = databases.enter_context(fresh_pg_database())
    servers: list[subprocess.Popen] = []
    try:
        t = time.perf_counter()
        setup = prepare(url, city, cycle)
        print(f"schema and master data in {time.perf_counter() - t:.1f} s")
        port = free_port()
        servers.append(start_server(url, port, args.workers))
        base = f"http://127.0.0.1:{port}"
        bases = [base]
        for _ in range(args.instances - 1):  # more single-worker instances, as behind a load balancer
            other = free_port()
            servers.append(start_server(url, other, args.workers))
            bases.append(f"http://127.0.0.1:{other}")
        tokens, cycles = setup["tokens"], setup["cycles"]
        owner = dict(zip(city.retailers.retailer_id, city.retailers.manager_id))
        bodies = order_bodies(demand)
        rng = np.random.default_rng(5)
        # the naive path first, on a quiet database, so the bulk writes' checkpoint cannot slow it (conservative)
        sample = list(rng.choice(sorted(bodies), size=min(args.sample, len(bodies)), replace=False))
        per_order = baseline_puts(base, cycles["baseline"], sample, bodies, owner, tokens)
        naive_s = per_order * len(bodies)
        first_s, first = timed_import(base, cycles["import"], csv, tokens["admin"])
        same_s, same = timed_import(base, cycles["import"], csv, tokens["admin"])
        changed_ids = set(rng.choice(sorted(bodies), size=len(bodies) // 10, replace=False))
        changed = demand.assign(quantity=np.where(demand.retailer_id.isin(changed_ids),
                                                  (demand.quantity + 1) % 10_001, demand.quantity))
        tenth_s, tenth = timed_import(base, cycles["import"], changed.to_csv(index=False).encode(), tokens["admin"])
        settle(url)
        loop = asyncio.run(open_loop(bases, cycles["import"], args.rate, args.seconds, bodies, owner, tokens))
    finally:
        try:
            for server in servers:
                server.terminate()
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:
                    server.kill()
        finally:
            databases.close()

    lat = f"{loop['p50_ms']:.0f} / {loop['p99_ms']:.0f} ms"
    rows = [
        ("import, all orders new", f"{first_s:.1f} s",
         f"{first['created']:,} created, {first['lines']:,} lines, {first['warnings']:,} above cap"),
        ("import, same file again", f"{same_s:.1f} s", f"{same['unchanged']:,} unchanged"),
        ("import, 10% of orders changed", f"{tenth_s:.1f} s", f"{tenth['replaced']:,} replaced"),
        ("naive: one PUT per order", f"{naive_s:.0f} s",
         f"extrapolated from {len(sample)} sequential PUTs at {1000 * per_order:.1f} ms each"),
        ("ratio naive / import", f"{naive_s / first_s:.1f}x", "same run, same server"),
        (f"open loop {args.rate:.0f}/s for {args.seconds:.0f} s", f"{loop['achieved_per_s']:.1f}/s",
         f"{loop['sent']} sent, {loop['errors']} errors ({loop['dropped']} not sent: {MAX_IN_FLIGHT} unanswered)"
         + (f"; statuses {loop['statuses']} (0: no answer)" if loop["statuses"] else "")),
        ("  latency p50 / p99", lat, f"max {loop['max_ms']:.0f} ms, send lag {loop['max_send_lag_ms']:.0f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(width)}  {'figure':>14}  note")
    for name, fig, note in rows:
        print(f"{name.ljust(width)}  {fig:>14}  {note}")
    print(f"\ncores: {os.cpu_count()} (shared with other work); {args.instances} API instance(s) of {args.workers} "
          "uvicorn worker(s); PostgreSQL in a "
          "fresh database; times are whole HTTP requests, the naive figure is extrapolated")


if __name__ == "__main__":
    main()
