"""The distribution center pages through a published allocation while other cycles are written: each row once."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from models.tables import Cycle
from models.tables_runs import Allocation
from tests.conftest import SAMPLE, make_client
from tests.worlds.runs import pull_all
from tests.worlds.sample import committed_city, fill_cycle, sample_rows

PAGE = 13


def pull(client, url: str, headers: dict, limit: int = PAGE, **params) -> list[dict]:
    """Every item of a list route, one small page at a time."""
    return pull_all(client, url, headers, limit, **params)


@pytest.fixture
def busy_city(committed_engine):
    """Cycle W47 published; W48 open and taking orders; W49 closed, ready to be run and published meanwhile."""
    headers = committed_city(committed_engine)
    admin = headers["admin"]
    client = make_client(committed_engine)
    demand = (SAMPLE / "demand.csv").read_text(encoding="utf-8")
    cycles = {}
    for week, state in ((47, "published"), (48, "open"), (49, "closed")):
        start = f"2026-11-{16 + 7 * (week - 47):02d}" if week < 49 else "2026-11-30"
        end = f"2026-11-{22 + 7 * (week - 47):02d}" if week < 49 else "2026-12-06"
        r = client.post("/v1/cycles", json={"name": f"2026-W{week}", "start_date": start, "end_date": end},
                        headers=admin)
        cycles[state] = r.json()["id"]
        fill_cycle(client, admin, cycles[state], demand)
        if state != "open":
            assert client.post(f"/v1/cycles/{cycles[state]}/close", headers=admin).status_code == 200
    run = client.post(f"/v1/cycles/{cycles['published']}/allocation-runs", headers=admin).json()["run_id"]
    assert client.post(f"/v1/allocation-runs/{run}/publish", headers=admin).status_code == 200
    if committed_engine.dialect.name == "postgresql":
        # freshly loaded tables have no planner statistics yet; without them a page takes ~100x longer
        with committed_engine.begin() as conn:
            conn.execute(text("ANALYZE retailer; ANALYZE brand; ANALYZE allocation"))
    return committed_engine, headers, cycles


def test_paging_a_publication_while_others_write_sees_every_row_once(busy_city):
    engine, headers, cycles = busy_city
    admin, am, dc = headers["admin"], headers["account_manager"], headers["distribution_center"]
    with Session(engine) as s:
        run_id = s.get(Cycle, int(cycles["published"])).published_run_id
        expected = s.execute(select(Allocation.retailer_id, Allocation.brand_code, Allocation.allocated)
                             .where(Allocation.run_id == run_id)).all()
    mine = [r["retailer_id"] for r in sample_rows("retailers")
            if r["manager_id"] == sample_rows("managers")[0]["manager_id"] and r.get("status", "active") == "active"]
    brands = [b["brand_code"] for b in sample_rows("brands")]
    stop, writes, errors = threading.Event(), [], []

    def order_writer():
        client, rng = make_client(engine), random.Random(1)
        while not stop.is_set():
            rid = rng.choice(mine)
            r = client.put(f"/v1/cycles/{cycles['open']}/orders/{rid}", headers=am,
                           json={"lines": [{"brand_code": b, "quantity": rng.randint(0, 30)}
                                           for b in rng.sample(brands, 5)]})
            writes.append(r.status_code)

    def run_writer():
        client = make_client(engine)
        r = client.post(f"/v1/cycles/{cycles['closed']}/allocation-runs", headers=admin)
        writes.append(r.status_code)
        r = client.post(f"/v1/allocation-runs/{r.json()['run_id']}/publish", headers=admin)
        writes.append(r.status_code)

    def guarded(fn):
        def inner():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
        return inner

    client = make_client(engine)
    first_feed = client.get("/v1/publications", params={"limit": 1}, headers=dc).json()
    threads = [threading.Thread(target=guarded(order_writer)), threading.Thread(target=guarded(run_writer))]
    for t in threads:
        t.start()
    try:
        rows = pull(client, f"/v1/cycles/{cycles['published']}/allocations", dc)
        by_route = [x for route in sorted({r["route_id"] for r in rows})
                    for x in pull(client, f"/v1/cycles/{cycles['published']}/allocations", dc, route_id=route)]
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    assert not errors, errors
    assert set(writes) <= {200, 201, 202} and len(writes) > 2, writes
    keys = [(r["retailer_id"], r["brand_code"]) for r in rows]
    assert len(keys) == len(set(keys)), "a row was served twice"
    assert sorted((r["retailer_id"], r["brand_code"], r["allocated"]) for r in rows) == sorted(map(tuple, expected))
    assert sorted(keys) == sorted((r["retailer_id"], r["brand_code"]) for r in by_route)
    # the feed: what was published meanwhile comes after the resume cursor, once
    feed = pull(client, "/v1/publications", dc, limit=1)
    assert [p["cycle_id"] for p in feed] == [cycles["published"], cycles["closed"]]
    later = client.get("/v1/publications", params={"cursor": first_feed["resume_cursor"]}, headers=dc).json()
    assert [p["cycle_id"] for p in later["items"]] == [cycles["closed"]]
