"""An ordering morning replayed at a fixed arrival rate against the API, then checked for lost orders.

Every retailer of a generated city that orders this week sends its order once (PUT), in a shuffled order, at
t0 + i/rate whatever the answers do (open loop: a slow server makes requests pile up instead of slowing the
sender, so latency is counted from the scheduled time). Afterwards every acknowledged order is looked up in the
database: it must be there, at the acknowledged version, with exactly the lines sent.

Run: python -m bench.load_morning [--orders 30000] [--rate 200] [--workers 2]
     python -m bench.load_morning --database sqlite --find-rate   (the embedded default: its highest rate)
PostgreSQL (BENCH_PG_URL, an admin URL): a fresh database, dropped afterwards; SQLite: a file in a temporary
directory. The API runs under uvicorn on a free port of 127.0.0.1. `--find-rate` replays a morning of
`--seconds` at each of RATES in turn, each into a new cycle, and reports the highest rate held (p99 < 100 ms,
no error, nothing lost). Prints tables; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from bench.common import console, database, free_port, load_master, start_server, table
from fixtures.city import generate_city, generate_cycle
from models.db import make_engine
from models.migrate import upgrade
from models.tables_demand import Order, OrderLine
from models.users import create_user, get_or_create_company

TARGET = {"throughput": 200.0, "p99_ms": 100.0}
CAPS_CHUNK = 5_000
RATES = (25, 50, 75, 100, 150, 200, 300)  # --find-rate tries these in turn until one is not held


@dataclass
class Morning:
    """The requests of one morning, built before the clock starts so the sender only sends."""

    retailers: list[str]
    payloads: list[bytes]
    lines: list[list[tuple[str, int]]]
    headers: list[dict]
    admin: dict
    caps: pd.DataFrame

    def first(self, n: int) -> Morning:
        """The morning's first n orders (a shorter morning on the same city)."""
        return Morning(self.retailers[:n], self.payloads[:n], self.lines[:n], self.headers[:n], self.admin, self.caps)


def build(url: str, orders: int, seed: int) -> Morning:
    """Schema, a city with at least `orders` ordering retailers, a token per account manager and the bodies."""
    city = generate_city(scale="city", seed=seed, retailers=math.ceil(orders / 0.8) + 100, weeks=4)
    cycle = generate_cycle(city, seed=seed)
    demand = cycle.demand[cycle.demand["quantity"] > 0]
    ordering = demand["retailer_id"].drop_duplicates()
    if len(ordering) < orders:
        raise SystemExit(f"the generated city has only {len(ordering)} ordering retailers; ask for fewer orders")
    rng = np.random.default_rng(seed)
    chosen = list(rng.permutation(ordering.to_numpy())[:orders])
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        company = get_or_create_company(s, "morning", "Morning")
        load_master(s, company.id, city)
        admin = create_user(s, company.id, "admin", name="admin")[1]
        tokens = {m: create_user(s, company.id, "account_manager", name=f"am-{m}", manager_id=m)[1]
                  for m in city.managers["manager_id"]}
        s.commit()
    engine.dispose()
    owner = city.retailers.set_index("retailer_id")["manager_id"]
    by_retailer = {rid: g for rid, g in demand.groupby("retailer_id", sort=False)}
    payloads, lines, headers = [], [], []
    for rid in chosen:
        g = by_retailer[rid]
        pairs = list(zip(g["brand_code"].tolist(), g["quantity"].astype(int).tolist()))
        lines.append(sorted(pairs))
        payloads.append(json.dumps({"lines": [{"brand_code": b, "quantity": q} for b, q in pairs],
                                    "channel": g["channel"].iat[0]}).encode())
        headers.append({"Authorization": f"Bearer {tokens[owner[rid]]}", "Content-Type": "application/json"})
    return Morning(chosen, payloads, lines, headers, {"Authorization": f"Bearer {admin}"}, cycle.caps)


def open_cycle(base: str, morning: Morning, name: str = "morning") -> str:
    """The morning's cycle, open now, with every retailer's cap set (as the marketing department would)."""
    with httpx.Client(base_url=base, headers=morning.admin, timeout=300) as client:
        r = client.post("/v1/cycles", json={"name": name, "start_date": "2026-11-23", "end_date": "2026-11-29"})
        r.raise_for_status()
        cycle = r.json()["id"]
        caps = morning.caps
        for start in range(0, len(caps), CAPS_CHUNK):
            part = caps.iloc[start:start + CAPS_CHUNK]
            body = [{"retailer_id": rid, "cap": int(cap)} for rid, cap in zip(part["retailer_id"], part["cap"])]
            client.put(f"/v1/cycles/{cycle}/caps", json=body).raise_for_status()
        for _ in range(50):  # warm every worker's connection pool outside the timing
            client.get("/health")
    return cycle


async def replay(base: str, cycle: str, morning: Morning, rate: float, max_in_flight: int) -> dict:
    """Send request i at t0 + i/rate; a send that would exceed max_in_flight is dropped and counted as an error.

    The lean client in bench/rawclient.py sends pre-encoded requests, so it takes as little as it can of the
    cores it shares with the server and the database.
    """
    from urllib.parse import urlsplit

    from bench.rawclient import encode, open_loop

    url = urlsplit(base)
    requests = [encode("PUT", url.hostname, url.port, f"/v1/cycles/{cycle}/orders/{morning.retailers[i]}",
                       morning.payloads[i], dict(morning.headers[i])) for i in range(len(morning.payloads))]
    outcomes, _, t0 = await open_loop(url.hostname, url.port, requests, rate, max_in_flight, keep_bodies=True,
                                      start_delay=0.5)
    n = len(requests)
    status = np.array([o.status for o in outcomes], dtype=np.int32)
    sent = status != -1
    latency = np.where(sent, [o.latency_s for o in outcomes], np.nan)
    lag = np.where(sent, [o.lag_s for o in outcomes], np.nan)
    done_at = np.where(sent, [o.done_s for o in outcomes], np.nan)
    answers: list[dict | None] = [json.loads(o.body) if o.status in (200, 201) else None for o in outcomes]
    assert len(answers) == n
    return {"t0": t0, "latency": latency, "lag": lag, "status": status, "answers": answers, "done_at": done_at}


def verify(url: str, cycle: str, morning: Morning, result: dict) -> dict:
    """Every acknowledged order stored whole at its acknowledged version; nothing refused stored."""
    engine = make_engine(url)
    with Session(engine) as s:
        heads = dict(s.execute(select(Order.retailer_id, Order.version).where(Order.cycle_id == int(cycle))).all())
        rows = s.execute(select(OrderLine.retailer_id, OrderLine.brand_code, OrderLine.quantity)
                         .where(OrderLine.cycle_id == int(cycle))).all()
    engine.dispose()
    stored: dict[str, list] = {}
    for rid, code, qty in rows:
        stored.setdefault(rid, []).append((code, int(qty)))
    lost = wrong = refused_but_stored = 0
    for i, rid in enumerate(morning.retailers):
        answer = result["answers"][i]
        if answer is not None:
            if rid not in heads:
                lost += 1
            elif heads[rid] != answer["version"] or sorted(stored.get(rid, [])) != morning.lines[i]:
                wrong += 1
        elif 400 <= result["status"][i] < 500 and rid in heads:
            refused_but_stored += 1
    acked = sum(a is not None for a in result["answers"])
    return {"acked": acked, "stored": len(heads), "lost": lost, "wrong": wrong, "refused_stored": refused_but_stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--orders", type=int, default=30_000, help="orders in the morning (one per retailer)")
    parser.add_argument("--rate", type=float, default=200.0, help="arrivals per second, fixed")
    parser.add_argument("--find-rate", action="store_true", help="the highest of RATES held, --seconds at each")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each morning with --find-rate")
    parser.add_argument("--workers", type=int, help="uvicorn worker processes (default: one per core; 1 on SQLite, "
                                                     "whose one write lock several processes would only poll for)")
    parser.add_argument("--max-in-flight", type=int, default=500, help="client connections at most")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.workers = args.workers or (1 if args.database == "sqlite" else os.cpu_count() or 2)
    rates = list(RATES) if args.find_rate else [args.rate]
    orders = math.ceil(max(rates) * args.seconds) if args.find_rate else args.orders
    load_before = os.getloadavg()
    held, rows = None, []
    with database(args.database) as url:
        t = time.perf_counter()
        morning = build(url, orders, args.seed)
        port = free_port()
        server = start_server(url, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            console.print(f"set-up {time.perf_counter() - t:.1f} s; {args.database}, {args.workers} API worker(s)")
            for rate in rates:
                n = math.ceil(rate * args.seconds) if args.find_rate else orders
                part = morning.first(n)
                cycle = open_cycle(base, part, name=f"morning at {rate:g}/s")
                console.print(f"replaying {n:,} orders at {rate:g}/s ({n / rate:.0f} s)")
                cpu = time.process_time()
                result = asyncio.run(replay(base, cycle, part, rate, args.max_in_flight))
                result["client_cpu_s"] = time.process_time() - cpu
                check = verify(url, cycle, part, result)
                figures = summary(rate, result, check)
                rows.append(figures)
                if not args.find_rate:
                    report(args, result, check, load_before)
                elif figures["held"]:
                    held = rate
                else:
                    break
        finally:
            server.terminate()
            server.wait(30)
    if args.find_rate:
        report_rates(args, rows, held, load_before)


def summary(rate: float, result: dict, check: dict) -> dict:
    """One morning's figures, and whether the rate was held: p99 under target, no error, nothing lost or wrong."""
    ok = np.isin(result["status"], (200, 201))
    ms = result["latency"][ok] * 1000
    span = np.nanmax(result["done_at"]) - result["t0"]
    p99 = float(np.percentile(ms, 99)) if ok.any() else math.inf
    errors = int((~ok).sum())
    return {"rate": rate, "achieved": ok.sum() / span, "p50": float(np.percentile(ms, 50)) if ok.any() else math.inf,
            "p99": p99, "errors": errors, "lost": check["lost"] + check["wrong"] + check["refused_stored"],
            "held": p99 < TARGET["p99_ms"] and errors == 0 and check["lost"] + check["wrong"] == 0}


def report_rates(args, rows: list[dict], held: float | None, load_before) -> None:
    console.print(table(f"the ordering morning on {args.database}: rates tried ({args.seconds:g} s each, "
                        f"{args.workers} API worker(s))",
                        ["offered /s", "achieved 2xx/s", "p50 ms", "p99 ms", "errors", "lost or wrong", "held"],
                        [[f"{r['rate']:g}", f"{r['achieved']:.1f}", f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                          str(r["errors"]), str(r["lost"]), "yes" if r["held"] else "no"] for r in rows]))
    console.print(f"highest rate held (p99 < {TARGET['p99_ms']:g} ms, 0 errors, 0 lost): "
                  f"{f'{held:g}/s' if held else 'none of those tried'}; load average before "
                  + " / ".join(f"{x:.2f}" for x in load_before))


def report(args, result: dict, check: dict, load_before: tuple[float, float, float]) -> None:
    """The figures, with the targets beside them; never an assertion on time."""
    status, latency, lag = result["status"], result["latency"], result["lag"]
    ok = np.isin(status, (200, 201))
    span = np.nanmax(result["done_at"]) - result["t0"]
    ms = latency[ok] * 1000
    errors = {int(c): int(n) for c, n in zip(*np.unique(status[~ok], return_counts=True))}
    rows = [
        ["orders offered", f"{len(status):,}", ""],
        ["arrival rate (fixed, /s)", f"{args.rate:g}", ""],
        ["achieved throughput (2xx/s)", f"{ok.sum() / span:.1f}", f">= {TARGET['throughput']:g}"],
        ["latency p50 (ms)", f"{np.percentile(ms, 50):.1f}" if ok.any() else "-", ""],
        ["latency p99 (ms)", f"{np.percentile(ms, 99):.1f}" if ok.any() else "-", f"< {TARGET['p99_ms']:g}"],
        ["latency max (ms)", f"{ms.max():.1f}" if ok.any() else "-", ""],
        ["client send lag p99 (ms)", f"{np.nanpercentile(lag, 99) * 1000:.1f}", "small: the sender kept time"],
        ["client CPU (s, same cores as the server)", f"{result['client_cpu_s']:.1f}", f"of {span:.0f} s"],
        ["errors (status: count; 0 = no answer, -1 = dropped)", str(errors or 0), "0"],
        ["acknowledged orders", f"{check['acked']:,}", ""],
        ["stored orders", f"{check['stored']:,}", ""],
        ["lost (acknowledged, not stored)", str(check["lost"]), "0"],
        ["stored differently from acknowledged", str(check["wrong"]), "0"],
        ["refused but stored", str(check["refused_stored"]), "0"],
        ["API workers", str(args.workers), ""],
        ["load average before (1/5/15 min)", " / ".join(f"{x:.2f}" for x in load_before), "others on the machine"],
    ]
    console.print(table(f"an ordering morning at a fixed arrival rate ({args.database}, uvicorn, a lean open-loop client)",
                        ["figure", "value", "target"], rows))


if __name__ == "__main__":
    main()
