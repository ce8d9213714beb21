"""Times a quarter of accuracy through the database (the queries that build the frames, then the scoring), so we
know what GET /v1/accuracy costs at city scale: summed from the order lines (closed cycles) and from the demand
snapshots (published cycles); the baseline fetches every order line and sums in pandas.

Run: ``python -m bench.bench_accuracy_db [--backend sqlite|postgresql] [--managers 100 --specs 300 --cycles 13
--retailers 150 --lines 20]``. PostgreSQL gets a throwaway database (BENCH_PG_URL). Never asserts times.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import and_, or_, select
from sqlmodel import Session

from allocation.vocabulary import Channel, CycleState
from bench.common import console, database, table, timed
from models.accuracy import AccuracyQuery, actual_frame, forecast_frame, score
from models.db import bulk_insert, make_engine
from models.migrate import upgrade
from models.tables import Brand, Cycle, Manager, Retailer
from models.tables_demand import Forecast, Order, OrderLine
from models.types import utcnow
from models.users import Principal, create_user, get_or_create_company

BATCH = 200_000


def _chunks(columns: dict[str, np.ndarray]):
    """Rows as plain tuples, built one batch at a time so memory stays flat."""
    n = len(next(iter(columns.values())))
    for start in range(0, n, BATCH):
        parts = [c[start:start + BATCH].tolist() for c in columns.values()]
        yield from zip(*parts)


def build(session: Session, company_id: int, user_id: int, a) -> dict[str, int]:
    """A quarter of weekly orders and forecasts shaped like a city: popular specs sell more, about one order in
    ten missing, a third collected (nine in ten of those approved), forecasts within ±30 %."""
    rng = np.random.default_rng(a.seed)
    managers = [f"M{i:04d}" for i in range(a.managers)]
    codes = np.array([f"{i:05d}" for i in range(a.specs)], dtype=object)
    bulk_insert(session, Manager.__table__, ["company_id", "manager_id", "name", "market_manager_id"],
                [(company_id, m, m, f"MM{i // 10:02d}") for i, m in enumerate(managers)])
    bulk_insert(session, Brand.__table__, ["company_id", "brand_code", "name", "brand", "price_class",
                                           "wholesale_price", "is_key", "is_scarce"],
                [(company_id, c, c, c, 2, Decimal(80), bool(rng.random() < 0.2), False) for c in codes])
    retailers = np.array([f"R{i:07d}" for i in range(a.managers * a.retailers)], dtype=object)
    owner = np.repeat(np.array(managers, dtype=object), a.retailers)
    bulk_insert(session, Retailer.__table__, ["company_id", "retailer_id", "name", "manager_id", "tier",
                                              "market_type", "business_format", "route_id", "delivery_weekday",
                                              "size_class", "status", "order_every_weeks"],
                [(company_id, r, r, m, 10, "urban", "convenience", "R1", 2, "small", "active", 1)
                 for r, m in zip(retailers, owner)])
    start = date(2025, 1, 6)
    cycle_ids = []
    for w in range(a.cycles):
        c = Cycle(company_id=company_id, name=f"W{w}", start_date=start + timedelta(weeks=w),
                  end_date=start + timedelta(weeks=w, days=6), status=CycleState.PUBLISHED)
        session.add(c)
        session.flush()
        cycle_ids.append(c.id)
    popularity = rng.lognormal(0.0, 1.0, a.specs)
    p = popularity / popularity.sum()
    now = utcnow()
    n_lines = n_orders = 0
    for cid in cycle_ids:
        ordering = retailers[rng.random(len(retailers)) < 0.9]
        collected = rng.random(len(ordering)) < 0.3
        approved = np.where(collected & (rng.random(len(ordering)) < 0.9), 1, None)
        bulk_insert(session, Order.__table__, ["cycle_id", "retailer_id", "company_id", "version", "channel",
                                               "body_sha256", "total", "submitted_by", "submitted_at",
                                               "approved_version"],
                    _chunks({"c": np.full(len(ordering), cid), "r": ordering, "co": np.full(len(ordering), company_id),
                             "v": np.ones(len(ordering), dtype=np.int64),
                             "ch": np.where(collected, "collected", "retailer_stated").astype(object),
                             "h": np.full(len(ordering), "0" * 64, dtype=object),
                             "t": np.zeros(len(ordering), dtype=np.int64),
                             "u": np.full(len(ordering), user_id), "at": np.full(len(ordering), now, dtype=object),
                             "a": approved}))
        # lines drawn by popularity; a spec drawn twice for one order is kept once (one line per spec)
        pair = np.unique(np.repeat(np.arange(len(ordering)), a.lines) * a.specs
                         + rng.choice(a.specs, size=len(ordering) * a.lines, p=p))
        r, b = ordering[pair // a.specs], codes[pair % a.specs]
        q = rng.integers(1, 20, r.size)
        n_lines += bulk_insert(session, OrderLine.__table__, ["cycle_id", "retailer_id", "brand_code", "company_id",
                                                              "quantity"],
                               _chunks({"c": np.full(r.size, cid), "r": r, "b": b,
                                        "co": np.full(r.size, company_id), "q": q}))
        n_orders += len(ordering)
        m, s = (x.ravel() for x in np.meshgrid(np.array(managers, dtype=object), codes, indexing="ij"))
        keep = rng.random(m.size) < 0.85
        mean = np.tile(p * a.retailers * 0.9 * a.lines * 10, a.managers)[keep]
        fq = np.rint(mean * rng.uniform(0.7, 1.3, mean.size)).astype(np.int64)
        bulk_insert(session, Forecast.__table__, ["cycle_id", "manager_id", "brand_code", "company_id", "quantity",
                                                  "version", "submitted_at"],
                    _chunks({"c": np.full(fq.size, cid), "m": m[keep], "b": s[keep],
                             "co": np.full(fq.size, company_id), "q": fq, "v": np.ones(fq.size, dtype=np.int64),
                             "at": np.full(fq.size, now, dtype=object)}))
    session.flush()
    return {"orders": n_orders, "order lines": n_lines, "cycles": len(cycle_ids)}


def baseline_actuals(session: Session, company_id: int, cycle_ids: list[int]) -> pd.DataFrame:
    """Every counted order line with its manager, summed in pandas instead of the database."""
    counts = or_(Order.channel == Channel.RETAILER_STATED,
                 and_(Order.channel == Channel.COLLECTED, Order.approved_version == Order.version))
    stmt = (select(Retailer.manager_id, OrderLine.cycle_id, OrderLine.brand_code, OrderLine.quantity)
            .join(Order, and_(Order.cycle_id == OrderLine.cycle_id, Order.retailer_id == OrderLine.retailer_id))
            .join(Retailer, and_(Retailer.company_id == Order.company_id, Retailer.retailer_id == Order.retailer_id))
            .where(Order.company_id == company_id, OrderLine.cycle_id.in_(cycle_ids), counts))
    raw = pd.DataFrame(session.execute(stmt).all(), columns=["manager_id", "period", "brand_code", "quantity"])
    raw["period"] = raw["period"].astype(str)
    return raw.groupby(["manager_id", "period", "brand_code"], as_index=False)["quantity"].sum()


def main() -> None:
    """Prints the sizes, the query and scoring times, the whole request's time and the ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--specs", type=int, default=300)
    parser.add_argument("--cycles", type=int, default=13)
    parser.add_argument("--retailers", type=int, default=150, help="retailers per manager")
    parser.add_argument("--lines", type=int, default=20, help="lines per order")
    parser.add_argument("--seed", type=int, default=7)
    a = parser.parse_args()
    with database(a.backend) as url:
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            company = get_or_create_company(session, "bench")
            user, _ = create_user(session, company.id, "admin", name="bench")
            t_build, sizes = timed(lambda: build(session, company.id, user.id, a))
            session.commit()
            ids = list(session.execute(select(Cycle.id).where(Cycle.company_id == company.id)
                                       .order_by(Cycle.id)).scalars())
            if a.backend == "postgresql":
                session.connection().exec_driver_sql("ANALYZE")
                session.commit()
        auditor = Principal(user_id=user.id, company_id=company.id, role="auditor", name="bench")
        quarter = AccuracyQuery(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
        with Session(engine) as s:
            t_f, f = timed(lambda: forecast_frame(s, company.id, ids))
            t_live, live = timed(lambda: actual_frame(s, company.id, ids, snapshots=False))
            t_base, base = timed(lambda: baseline_actuals(s, company.id, ids))
            mine = live.sort_values(["manager_id", "period", "brand_code"]).reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, base.reset_index(drop=True), check_dtype=False)
            t_first, first = timed(lambda: score(s, auditor, quarter))
            s.commit()
        with Session(engine) as s:
            t_req, result = timed(lambda: score(s, auditor, quarter))
            pd.testing.assert_frame_equal(result.rows, first.rows)
            t_spec, spec = timed(lambda: score(s, auditor, AccuracyQuery(
                date_from=quarter.date_from, date_to=quarter.date_to, level="spec")))
            t_one, _ = timed(lambda: score(s, auditor, AccuracyQuery(cycle_id=str(ids[-1]))))
        engine.dispose()
    console.print(f"accuracy through the database ({a.backend}): {a.managers} managers x {a.specs} specs x "
                  f"{a.cycles} cycles; {sizes['orders']:,} orders, {sizes['order lines']:,} order lines, "
                  f"{len(f):,} forecast rows -> {len(live):,} actual cells; built in {t_build:.1f} s")
    console.print(table("GET /v1/accuracy work, seconds", ["step", "seconds"], [
        ["forecast frame (query)", t_f],
        ["actual frame summed from order lines (closed cycles)", t_live],
        ["baseline: every line fetched, summed in pandas", t_base],
        ["quarter by manager, first request (builds the demand snapshots)", t_first],
        ["quarter by manager, published cycles (snapshots)", t_req],
        ["quarter by spec, published cycles (snapshots)", t_spec],
        ["one published cycle by manager", t_one],
    ]))
    console.print(f"ratio baseline / ours (actuals from order lines): {t_base / t_live:.1f}x; "
                  f"quarter request, first / snapshotted: {t_first / t_req:.1f}x; quarter rows {len(result.rows):,}, "
                  f"spec rows {len(spec.rows):,}")

if __name__ == "__main__":
    main()
