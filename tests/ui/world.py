"""The console tests' small world: the sample city with cycles in every state, built through the API, on one engine.

Two published cycles were forecast while planned (so accuracy has ranks and a trend); the open cycle has collected
orders awaiting sign-off and a pending cap adjustment; a closed cycle waits for a run; a planned one for forecasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from models.load import load_dir
from models.tables import Cycle
from models.users import get_or_create_company
from tests.conftest import SAMPLE, make_client
from tests.worlds.sample import fill_cycle, sample_rows, sample_users

SIGNED_IN = ("admin", "auditor", "distribution_center", "market_manager", "account_manager")


@dataclass
class ConsoleWorld:
    """Tokens per role (plus "other_account_manager" and "other_market_manager" of another team) and object ids."""

    tokens: dict[str, str]
    cycles: dict[str, str]
    run_id: str
    manager_id: str
    market_manager_id: str
    own_retailer: str
    other_retailer: str
    collected_retailers: list[str]
    adjustment_id: str
    other_adjustment_id: str
    brands: list[str] = field(default_factory=list)

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _ok(response, *codes: int):
    assert response.status_code in codes, (response.request.method, str(response.request.url), response.text[:500])
    return response


def _open_now(engine, cycle_id: str) -> None:
    """Orders open once forecasts are in: the world moves opens_at instead of waiting for it."""
    with Session(engine) as s:
        s.execute(update(Cycle).where(Cycle.id == int(cycle_id)).values(opens_at=datetime.now(UTC)))
        s.commit()


def build_console_world(engine) -> ConsoleWorld:
    managers = sample_rows("managers")
    mine, other = managers[0], next(m for m in managers if m["market_manager_id"] != managers[0]["market_manager_id"])
    with Session(engine) as s:
        company = get_or_create_company(s, "console", "Console test city")
        load_dir(s, company.id, SAMPLE)
        tokens = sample_users(s, company.id, {"market_manager": ("mm", mine["market_manager_id"]),
                                              "other_market_manager": ("mm-other", other["market_manager_id"])},
                              [m["manager_id"] for m in managers])
        s.commit()
    tokens["account_manager"] = tokens[f"account_manager:{mine['manager_id']}"]
    tokens["other_account_manager"] = tokens[f"account_manager:{other['manager_id']}"]
    h = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    client = make_client(engine)
    demand = (SAMPLE / "demand.csv").read_text(encoding="utf-8")
    brands = [b["brand_code"] for b in sample_rows("brands")]
    forecasts = {}
    for row in sample_rows("forecasts"):
        forecasts.setdefault(row["manager_id"], []).append((row["brand_code"], int(row["quantity"])))
    retailers = sample_rows("retailers")
    collected = sorted({line.split(",")[0] for line in demand.splitlines()[1:] if line.endswith(",collected")})
    team = {m["manager_id"] for m in managers if m["market_manager_id"] == mine["market_manager_id"]}
    owner = {r["retailer_id"]: r["manager_id"] for r in retailers}

    def new_cycle(name: str, week: int, planned: bool) -> str:
        start = date(2026, 10, 5) + timedelta(weeks=week)
        body = {"name": name, "start_date": str(start), "end_date": str(start + timedelta(days=6))}
        if planned:
            body["opens_at"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        return _ok(client.post("/v1/cycles", json=body, headers=h["admin"]), 201).json()["id"]

    def run_and_publish(cycle_id: str) -> str:
        _ok(client.post(f"/v1/cycles/{cycle_id}/close", headers=h["admin"]), 200)
        run_id = _ok(client.post(f"/v1/cycles/{cycle_id}/allocation-runs", headers=h["admin"]), 202).json()["run_id"]
        assert _ok(client.get(f"/v1/allocation-runs/{run_id}", headers=h["admin"]), 200).json()["status"] == "succeeded"
        _ok(client.post(f"/v1/allocation-runs/{run_id}/publish", headers=h["admin"]), 200)
        return run_id

    cycles: dict[str, str] = {}
    run_id = ""
    for i, factor in enumerate((0.8, 1.1)):  # two forecast, ordered and published weeks: a trend of two points
        cid = cycles[f"published{i}"] = new_cycle(f"2026-W{41 + i}", i, planned=True)
        for manager_id, lines in forecasts.items():
            _ok(client.put(f"/v1/cycles/{cid}/forecasts/{manager_id}", headers=h[f"account_manager:{manager_id}"],
                           json={"lines": [{"brand_code": b, "quantity": int(q * factor)} for b, q in lines]}), 200)
        _open_now(engine, cid)
        fill_cycle(client, h["admin"], cid, demand)
        for rid in collected[: len(collected) // 2]:
            boss = "market_manager" if owner[rid] in team else "other_market_manager"
            _ok(client.post(f"/v1/cycles/{cid}/orders/{rid}/approve", json={"version": 1}, headers=h[boss]), 200)
        run_id = run_and_publish(cid)
    cycles["published"] = cycles["published1"]
    cycles["closed"] = new_cycle("2026-W43", 2, planned=False)
    fill_cycle(client, h["admin"], cycles["closed"], demand)
    _ok(client.post(f"/v1/cycles/{cycles['closed']}/close", headers=h["admin"]), 200)
    cycles["open"] = new_cycle("2026-W44", 3, planned=False)
    fill_cycle(client, h["admin"], cycles["open"], demand)
    cycles["planned"] = new_cycle("2026-W45", 4, planned=True)

    def movable(manager_id: str) -> list[str]:
        capped = {r["retailer_id"] for r in sample_rows("caps")}
        return [r["retailer_id"] for r in retailers if r["manager_id"] == manager_id and r["retailer_id"] in capped
                and r.get("status", "active") == "active" and r["retailer_id"] not in collected]

    own = movable(mine["manager_id"])
    adjustments = []
    for manager_id, (giver, taker) in ((mine["manager_id"], own[1:3]), (other["manager_id"], movable(other["manager_id"])[:2])):
        move = {"moves": [{"from_retailer_id": giver, "to_retailer_id": taker, "quantity": 1}], "reason": "shop moved"}
        adjustments.append(_ok(client.post(f"/v1/cycles/{cycles['open']}/cap-adjustments", json=move,
                                           headers=h[f"account_manager:{manager_id}"]), 201).json()["id"])
    return ConsoleWorld(tokens=tokens, cycles=cycles, run_id=run_id, manager_id=mine["manager_id"],
                        market_manager_id=mine["market_manager_id"], own_retailer=own[0],
                        other_retailer=next(r["retailer_id"] for r in retailers if r["manager_id"] == other["manager_id"]),
                        collected_retailers=[r for r in collected if owner[r] in team],
                        adjustment_id=adjustments[0], other_adjustment_id=adjustments[1], brands=brands)
