"""GET /v1/cycles/{id}/summary: counts checked against the sample files by hand-written sums."""

from __future__ import annotations

import csv
from collections import Counter


from sqlalchemy import select

from models.summary import fill_histogram
from models.tables_demand import SpecTotal
from tests.conftest import SAMPLE
from tests.worlds.orders import body, order_url
from tests.worlds.sample import sample_rows


def test_summary_counts_orders_caps_and_demand_per_spec(client, sample_world, session):
    admin = sample_world.headers["admin"]
    with open(SAMPLE / "demand.csv", encoding="utf-8", newline="") as f:
        demand = list(csv.DictReader(f))
    channel = {r["retailer_id"]: r["channel"] for r in demand}
    per_spec = Counter()
    for r in demand:
        per_spec[r["brand_code"]] += int(r["quantity"])
    supply = {r["brand_code"]: int(r["quantity"]) for r in sample_rows("supply")}
    capped = {r["retailer_id"] for r in sample_rows("caps")}
    active = {r["retailer_id"] for r in sample_rows("retailers") if (r.get("status") or "active") == "active"}

    open_id = sample_world.cycles["open"]
    body = client.get(f"/v1/cycles/{open_id}/summary", headers=admin).json()
    assert body["status"] == "open" and body["orders"] == len(channel)
    assert body["cartons"] == sum(per_spec.values())
    collected = sum(1 for c in channel.values() if c == "collected")
    assert body["by_channel"] == {"retailer_stated": len(channel) - collected, "collected": collected}
    assert body["by_status"] == {"submitted": len(channel) - collected, "pending_approval": collected, "approved": 0}
    assert body["collected_pending"] == collected
    assert body["retailers_without_cap"] == len(active - capped)
    assert body["ordered_without_cap"] == len(set(channel) - capped)
    specs = {s["brand_code"]: s for s in body["specs"]}
    assert set(specs) == set(per_spec) | set(supply)
    assert all(specs[b]["demand"] == per_spec.get(b, 0) and specs[b]["supply"] == supply.get(b, 0) for b in specs)
    assert all(s["allocated"] is None for s in body["specs"])

    # one sign-off moves one order from pending to approved
    team = {m["manager_id"] for m in sample_rows("managers") if m["market_manager_id"] == sample_world.market_manager_id}
    owner = {r["retailer_id"]: r["manager_id"] for r in sample_rows("retailers")}
    rid = next(r for r, c in channel.items() if c == "collected" and owner[r] in team)
    mm = sample_world.headers["market_manager"]
    assert client.post(f"/v1/cycles/{open_id}/orders/{rid}/approve", json={"version": 1}, headers=mm).status_code == 200
    again = client.get(f"/v1/cycles/{open_id}/summary", headers=sample_world.headers["auditor"]).json()
    assert again["by_status"]["approved"] == 1 and again["by_status"]["pending_approval"] == collected - 1

    published = client.get(f"/v1/cycles/{sample_world.cycles['published']}/summary", headers=admin).json()
    run = client.get(f"/v1/allocation-runs/{sample_world.run_id}", headers=admin).json()
    kept = run["totals"]["fill_histogram"]  # written with the rows, equal to a count over them
    assert kept == fill_histogram(session, int(sample_world.run_id)) and sum(kept) == run["totals"]["lines"]
    assert sum(s["allocated"] or 0 for s in published["specs"]) == run["totals"]["allocated"]
    assert all(s["allocated"] <= min(s["demand"], s["supply"]) for s in published["specs"] if s["allocated"] is not None)
    assert client.get(f"/v1/cycles/{open_id}/summary", headers=sample_world.headers["distribution_center"]).status_code == 403
    assert client.get("/v1/cycles/99999/summary", headers=admin).status_code == 404


def test_a_final_cycles_kept_spec_totals_follow_a_reopen_and_a_new_order(client, orders_world, am, auth, session):
    cid, admin = orders_world["open"], auth("admin")

    def demand() -> dict:
        body = client.get(f"/v1/cycles/{cid}/summary", headers=admin).json()
        return {s["brand_code"]: s["demand"] for s in body["specs"]}

    assert client.put(order_url(cid, "R1"), json=body(("B1", 5)), headers=am).status_code == 201
    assert client.post(f"/v1/cycles/{cid}/close", headers=admin).status_code == 200
    assert demand() == {"B1": 5}
    kept = session.execute(select(SpecTotal.brand_code, SpecTotal.demand).where(SpecTotal.cycle_id == cid)).all()
    assert [tuple(r) for r in kept] == [("B1", 5)]  # the closed cycle's sums are kept, not summed per request
    assert demand() == {"B1": 5}

    assert client.post(f"/v1/cycles/{cid}/reopen", headers=admin).status_code == 200
    assert client.put(order_url(cid, "R1"), json=body(("B1", 7), ("B2", 3)), headers=am).status_code == 200
    assert demand() == {"B1": 7, "B2": 3}  # open again: the kept totals were another close's
    assert client.put(order_url(cid, "R1"), json=body(("B1", 7), ("B2", 8)), headers=am).status_code == 200
    assert demand() == {"B1": 7, "B2": 8}  # an order replaced: a new version, another fingerprint of the orders
    assert client.put(order_url(cid, "R1"), json=body(("B1", 7), ("B2", 3)), headers=am).status_code == 200
    assert client.post(f"/v1/cycles/{cid}/close", headers=admin).status_code == 200
    assert demand() == {"B1": 7, "B2": 3}  # the new close is another basis: summed again, never the old totals
    session.expire_all()
    kept = session.execute(select(SpecTotal.brand_code, SpecTotal.demand).where(SpecTotal.cycle_id == cid)
                           .order_by(SpecTotal.brand_code)).all()
    assert [tuple(r) for r in kept] == [("B1", 7), ("B2", 3)]
