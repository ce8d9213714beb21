"""Times computing a 30,000-retailer city's caps on PostgreSQL (query + policy + write) against the pure policy alone.

Run: python -m bench.bench_caps_db [--retailers N] [--url URL]. Creates a fresh database beside the one the URL
names, loads a generated city with 12 weeks of history, times the compute request's work, drops the database.
Prints seconds, the ratio to the pure computation and the core count; asserts no time, only that the caps the
database path stores equal the pure policy's on the generator's own frames.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from allocation.cap_policy import CapPolicy
from allocation.caps import compute_caps
from api.app import create_app
from api.settings import Settings
from fixtures.city import generate_city, write_csvs
from models.caps import cap_inputs, compute_cycle_caps
from models.cycles import create_cycle
from models.db import make_engine, session_scope
from bench.common import PG_ADMIN_URL, fresh_pg_database, timed, usable_cores
from models.load import load_dir
from models.migrate import upgrade
from models.tables import Cap, Cycle
from models.users import Principal, create_user, get_or_create_company

CYCLE_PERIOD = "2026-W50"  # Monday 7 December 2026, the month's first cycle: all 12 weeks of history count
CYCLE_START = date(2026, 12, 7)


def main() -> None:
    """Prints the figures the README quotes for computing caps through the database."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--retailers", type=int, default=None, help="retailers (default: the city scale, 30,000)")
    parser.add_argument("--url", default=PG_ADMIN_URL)
    args = parser.parse_args()
    cores = usable_cores()
    city = generate_city(scale="city", seed=7, retailers=args.retailers, cycle_period=CYCLE_PERIOD)
    end = CYCLE_START + timedelta(days=6)

    with fresh_pg_database(args.url) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        upgrade(engine)
        t = time.perf_counter()
        write_csvs(city, tmp)
        with session_scope(engine) as s:
            company = get_or_create_company(s)
            lines = load_dir(s, company.id, tmp)["history"]
            user, token = create_user(s, company.id, "admin", name="bench-admin")
            who = Principal(user.id, company.id, "admin", user.name)
            cycle_id = create_cycle(s, who, "bench", CYCLE_START, end).id
        load_s = time.perf_counter() - t

        with session_scope(engine) as s:
            cycle = s.get(Cycle, cycle_id)
            inputs_s, (retailers, history, allocated) = timed(cap_inputs, s, company.id, cycle)
        policy = CapPolicy()
        pure_s, _ = timed(compute_caps, retailers, history, policy, CYCLE_START, end, allocated)
        pure_city_s, expected = timed(compute_caps, city.retailers, city.history, policy, CYCLE_START, end)

        def request_work(overwrite: bool) -> dict:
            with session_scope(engine) as s:
                return compute_cycle_caps(s, who, cycle_id, overwrite)

        first_s, summary = timed(request_work, False)
        again_s, _ = timed(request_work, True)
        client = TestClient(create_app(Settings(database_url=str(engine.url)), engine=engine))
        http_s, response = timed(lambda: client.post(f"/v1/cycles/{cycle_id}/caps/compute",
                                                     headers={"Authorization": f"Bearer {token}"}))
        with engine.connect() as conn:
            stored = dict(conn.execute(select(Cap.retailer_id, Cap.cap).where(Cap.cycle_id == cycle_id)).all())
        same = stored == dict(zip(expected["retailer_id"], expected["cap"].tolist()))

    print(f"city: {len(city.retailers):,} retailers ({summary['computed']:,} capped), {len(city.periods)} weeks, "
          f"{lines:,} history lines loaded in {load_s:.1f} s (setup, not timed below)")
    print(f"cores available: {cores} (machine: {os.cpu_count()}); database: PostgreSQL")
    print(f"inputs query (retailers, weekly history, allocations): {inputs_s:7.3f} s "
          f"({len(history):,} retailer-weeks)")
    print(f"pure policy on the queried frames:                     {pure_s:7.3f} s")
    print(f"pure policy on the generator's spec lines (baseline):  {pure_city_s:7.3f} s")
    print(f"compute request work, first (query + policy + write):  {first_s:7.3f} s "
          f"= {first_s / pure_city_s:.1f}x the pure baseline")
    print(f"compute request work, overwrite (delete + rewrite):    {again_s:7.3f} s")
    print(f"POST .../caps/compute through the app:                 {http_s:7.3f} s (status {response.status_code})")
    print(f"stored caps equal the pure policy's:                   {same}")
    print(f"total cap {summary['computed_total']:,} cartons; methods {summary['by_method']}")


if __name__ == "__main__":
    main()
