"""Times the compliance figures of a city cycle (about 25,000 orders, 520,000 lines, three planted clusters): the
pure computation on the frames the database gives, the same figures by a plain pandas group-by written the way
an analyst would (the baseline, measured in the same run, answers checked equal), the read, and the whole
GET /v1/compliance (and /clusters, .csv) through the HTTP API.

The cycle is closed and published (allocation: each line's demand less a tenth, enough for the figures), with
some approved cap moves, and its year-ago week loaded as history (the city's newest history week, relabelled, so
value per carton a year earlier is computed over a city's week of rows).

Run: python -m bench.bench_compliance [--database postgresql|sqlite] [--repeat 3]. PostgreSQL gets a fresh
database (BENCH_PG_URL or TEST_PG_URL names the server's admin database). Prints seconds, the ratio to the
baseline and the core count; asserts no time.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from datetime import timedelta

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlmodel import Session

from allocation.compliance import CompliancePolicy, cycle_sums, report
from allocation.vocabulary import AdjustmentState, CycleState, RunState
from bench.bench_runs import load_city
from bench.common import best_of, console, database, free_port, start_server, table, timed, usable_cores
from fixtures.city import generate_city, generate_cycle
from fixtures.orders import period_name
from models.compliance import figures, gather
from models.cycles import ReportQuery
from models.db import bulk_insert, copy_frame, make_engine, read_frame
from models.migrate import upgrade
from models.tables import CapAdjustment, Cycle, History, User
from models.tables_demand import OrderLine
from models.tables_runs import Allocation, AllocationRun, Publication
from models.users import Principal, create_user

CUT = 0.9   # the published allocation: each line's demand less a tenth, rounded down
MOVES = 200  # approved cap adjustments


def publish_and_history(engine, cycle_id: int, city) -> tuple[int, str, Principal]:
    """Publishes the closed cycle with a simple allocation, approves some cap moves, loads the year-ago week."""
    with Session(engine, expire_on_commit=False) as session:
        cycle = session.get(Cycle, cycle_id)
        admin = session.execute(select(User).where(User.company_id == cycle.company_id)).scalars().first()
        auditor, token = create_user(session, cycle.company_id, "auditor", name="bench-auditor")
        run = AllocationRun(company_id=cycle.company_id, cycle_id=cycle_id, status=RunState.SUCCEEDED, created_by=admin.id)
        session.add(run)
        session.flush()
        lines = session.execute(text("SELECT retailer_id, brand_code, quantity FROM order_line WHERE cycle_id = :c"),
                                {"c": cycle_id}).all()
        bulk_insert(session, Allocation.__table__, ["run_id", "retailer_id", "brand_code", "demanded", "allocated",
                                                    "reason"],
                    ((run.id, r, b, q, int(q * CUT), "supply" if int(q * CUT) < q else "full") for r, b, q in lines))
        session.add(Publication(company_id=cycle.company_id, cycle_id=cycle_id, run_id=run.id, published_by=admin.id))
        cycle.status, cycle.published_run_id = CycleState.PUBLISHED, run.id
        owners = city.retailers.groupby("manager_id", observed=True)["retailer_id"].agg(list)
        for i, (manager, ids) in enumerate(owners.items()):
            if i >= MOVES or len(ids) < 2:
                break
            session.add(CapAdjustment(company_id=cycle.company_id, cycle_id=cycle_id, manager_id=manager,
                                      reason="bench", status=AdjustmentState.APPROVED, created_by=admin.id,
                                      moves=[{"from_retailer_id": ids[0], "to_retailer_id": ids[1], "quantity": 3}]))
        week = city.history[city.history["period"] == city.periods[-1]]
        year_ago = period_name(cycle.start_date - timedelta(days=364))
        copy_frame(session, History.__table__, pd.DataFrame({
            "company_id": np.full(len(week), cycle.company_id), "period": year_ago,
            "retailer_id": week["retailer_id"].astype(str).to_numpy(), "brand_code": week["brand_code"].astype(str)
            .to_numpy(), "quantity": week["quantity"].to_numpy()}))
        session.commit()
        principal = Principal(auditor.id, cycle.company_id, "auditor", auditor.name)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return len(week), token, principal


def baseline(data) -> pd.DataFrame:
    """The figures an analyst would get with plain pandas: merges and group-bys, each order's lines as a tuple."""
    orders = data.orders[data.orders["total"] > 0]
    lines = data.lines[data.lines["quantity"] > 0].merge(orders, on=["cycle_id", "retailer_id"])
    counts = orders.assign(stated=orders["channel"] == "retailer_stated",
                           collected=orders["channel"] == "collected",
                           approved=(orders["channel"] == "collected") & orders["approved"],
                           stated_cartons=np.where(orders["channel"] == "retailer_stated", orders["total"], 0))
    per = counts.groupby("manager_id").agg(orders=("retailer_id", "size"), retailer_stated=("stated", "sum"),
                                           collected_approved=("approved", "sum"), cartons=("total", "sum"),
                                           stated_cartons=("stated_cartons", "sum"))
    keyed = lines.sort_values(["retailer_id", "brand_code"]).groupby(["manager_id", "retailer_id"]).apply(
        lambda g: tuple(zip(g["brand_code"], g["quantity"])), include_groups=False).rename("key").reset_index()
    keyed = keyed[keyed["key"].map(len) >= 3]
    sizes = keyed.groupby(["manager_id", "key"])["retailer_id"].transform("size")
    per["orders_in_clusters"] = keyed[sizes >= 3].groupby("manager_id").size()
    counted = lines[(lines["channel"] == "retailer_stated") | lines["approved"]].merge(data.brands, on="brand_code")
    counted = counted.assign(value=counted["quantity"] * counted["wholesale_price"],
                             key_q=np.where(counted["is_key"].astype(bool), counted["quantity"], 0))
    demand = counted.groupby("manager_id").agg(q=("quantity", "sum"), v=("value", "sum"), k=("key_q", "sum"))
    per["value_per_carton_demand"] = (demand["v"] / demand["q"]).round(2)
    per["key_share_demand"] = demand["k"] / demand["q"]
    per["self_submission_rate"] = per["retailer_stated"] / per["orders"]
    return per.fillna({"orders_in_clusters": 0})


def check(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """The baseline must agree with ours, or its time means nothing."""
    mine = ours[ours["manager_id"].notna()].set_index("manager_id")
    common = theirs.index
    for col in ("orders", "retailer_stated", "collected_approved", "orders_in_clusters"):
        assert (mine.loc[common, col].to_numpy() == theirs[col].to_numpy()).all(), col
    for col in ("self_submission_rate", "key_share_demand", "value_per_carton_demand"):
        assert np.allclose(mine.loc[common, col].to_numpy(float), theirs[col].to_numpy(float), atol=0.011), col


def api_times(url: str, token: str, cycle_id: int, repeat_: int) -> dict[str, float]:
    """First and best-of times of the three GETs through a running server (one worker)."""
    port = free_port()
    proc = start_server(url, port, 1)
    out = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=120) as client:
            for name, path in (("GET /v1/compliance", "/v1/compliance"), ("GET /v1/compliance.csv",
                                                                          "/v1/compliance.csv"),
                               ("GET /v1/compliance/clusters", "/v1/compliance/clusters")):
                def call(path=path):
                    r = client.get(path, params={"cycle_id": cycle_id, "limit": 1000})
                    assert r.status_code == 200, r.text
                    return r
                out[name + " (first)"], _ = timed(call)
                out[name], _ = best_of(repeat_, call)
    finally:
        proc.terminate()
        proc.wait()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--retailers", type=int, default=None, help="default: the city scale (30,000)")
    parser.add_argument("--repeat", type=int, default=3)
    a = parser.parse_args()
    city = generate_city("city", seed=7, retailers=a.retailers)
    cycle = generate_cycle(city, seed=7)
    with database(a.database) as url:
        engine = make_engine(url)
        upgrade(engine)
        t_load, (cycle_id, _) = timed(lambda: load_city(engine, city, cycle))
        history_rows, token, auditor = publish_and_history(engine, cycle_id, city)
        with Session(engine) as s:
            row = s.get(Cycle, cycle_id)
            policy = CompliancePolicy()
            t_read, data = best_of(a.repeat, lambda: gather(s, auditor.company_id, [row], policy))
            # the pure figures on every line of the city (the API reads only the lines that can cluster)
            full = replace(data, lines=read_frame(s, select(OrderLine.cycle_id, OrderLine.retailer_id,
                                                            OrderLine.brand_code, OrderLine.quantity)
                                                  .where(OrderLine.cycle_id == cycle_id),
                                                  {"cycle_id": "int64", "retailer_id": "str", "brand_code": "str",
                                                   "quantity": "int64"}))
            t_compute, rows = best_of(a.repeat, lambda: report(cycle_sums(full, policy)))
            pd.testing.assert_frame_equal(rows, report(cycle_sums(data, policy)))
            t_base, theirs = best_of(a.repeat, lambda: baseline(full))
            check(rows, theirs)
            t_whole, result = best_of(a.repeat, lambda: figures(s, auditor, ReportQuery(cycle_id=str(cycle_id))))
            s.rollback()
        http = api_times(url, token, cycle_id, a.repeat)
        engine.dispose()
    company = result.rows.iloc[0]
    console.print(f"compliance ({a.database}), city cycle: {len(data.orders):,} orders, {len(full.lines):,} lines "
                  f"({len(data.lines):,} of them in orders that may cluster), "
                  f"{len(data.allocated):,} allocated (manager, spec) sums, {history_rows:,} year-ago history rows; "
                  f"loaded in {t_load:.1f} s; {usable_cores()} usable cores, load average {os.getloadavg()[0]:.1f}")
    console.print(f"company row: orders {company['orders']:,}, self-submission {company['self_submission_rate']:.3f}, "
                  f"orders in clusters {company['orders_in_clusters']}, value per carton {company['value_per_carton_demand']}"
                  f" (last year {company['value_per_carton_last_year']}), cap moves {company['cap_moves']}")
    console.print(table(f"compliance figures, seconds (best of {a.repeat})", ["step", "seconds"], [
        ["compute: sums, clusters and figures from every line (target < 1 s)", t_compute],
        ["baseline: plain pandas merges and group-bys, orders' lines as tuples", t_base],
        ["read: the queries that build the frames (only the lines that may cluster)", t_read],
        ["in process: read + compute + scope (models.compliance.figures)", t_whole],
        *[[name + (" (target < 2 s)" if name == "GET /v1/compliance" else ""), secs] for name, secs in http.items()],
    ]))
    console.print(f"ratio baseline / compute: {t_base / t_compute:.1f}x")


if __name__ == "__main__":
    main()
