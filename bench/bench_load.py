"""Generating and loading a city into PostgreSQL: the set-up every other city benchmark stands on."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

from bench.common import Timer, console, fresh_pg_database, table
from fixtures.city import generate_city, write_csvs
from models.db import make_engine, session_scope
from models.load import load_dir
from models.migrate import upgrade
from models.tables import History
from models.users import get_or_create_company

BASELINE_ROWS = 20_000


def naive_rows_per_second(url: str, company_id: int, history) -> float:
    """Row-by-row ORM adds, the way a first version would write history: rows per second, measured on a slice."""
    engine = make_engine(url)
    sample = history.head(BASELINE_ROWS)
    with Session(engine) as session:
        t0 = time.perf_counter()
        for r in sample.itertuples(index=False):
            session.add(History(company_id=company_id, retailer_id=r.retailer_id, period="naive-" + r.period,
                                brand_code=r.brand_code, quantity=int(r.quantity)))
            session.flush()
        elapsed = time.perf_counter() - t0
        session.rollback()
    engine.dispose()
    return BASELINE_ROWS / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="city")
    args = parser.parse_args()
    timer = Timer()
    with fresh_pg_database() as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        upgrade(engine)
        with timer("generate"):
            city = generate_city(scale=args.scale, seed=7)
        with timer("write CSVs"):
            write_csvs(city, Path(tmp))
        with timer("load (read, validate, upsert, COPY, commit)"):
            with session_scope(engine) as session:
                company = get_or_create_company(session)
                counts = load_dir(session, company.id, Path(tmp))
        with timer("reload (idempotent)"):
            with session_scope(engine) as session:
                load_dir(session, company.id, Path(tmp))
        engine.dispose()
        naive = naive_rows_per_second(url, company.id, city.history)
    total = timer.marks["generate"] + timer.marks["write CSVs"] + timer.marks["load (read, validate, upsert, COPY, commit)"]
    rows = [[k, v] for k, v in timer.marks.items()]
    rows.append(["generate + write + load (the target: < 30 s)", total])
    naive_s = counts["history"] / naive
    rows.append([f"naive row-by-row ORM history insert (extrapolated from {BASELINE_ROWS:,} rows)", naive_s])
    console.print(table(f"{args.scale}: {counts['retailers']:,} retailers, {counts['history']:,} history lines "
                        "into PostgreSQL", ["step", "seconds"], rows))
    load_s = timer.marks["load (read, validate, upsert, COPY, commit)"]
    console.print(f"load speed-up over row-by-row ORM: {naive_s / load_s:.1f}x")


if __name__ == "__main__":
    main()
