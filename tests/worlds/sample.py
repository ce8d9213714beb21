"""A loaded sample city with a cycle in every state, built through the API so the tests exercise real objects."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.conftest import SAMPLE



def sample_rows(name: str) -> list[dict]:
    """One committed sample file as dicts (identifiers stay strings)."""
    with open(SAMPLE / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@dataclass
class World:
    """Ids of the objects the tests aim at, and a header set per role (None: no token)."""

    cycles: dict[str, str]
    headers: dict[str | None, dict[str, str]]
    manager_id: str
    market_manager_id: str
    own_retailer: str
    other_retailer: str
    run_id: str
    adjustment_id: str
    scenario_id: str = ""
    retailers: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)


def _ok(response, *codes: int):
    assert response.status_code in codes, (response.request.method, response.request.url, response.text)
    return response


def fill_cycle(client, admin: dict, cycle_id: str, demand_csv: str) -> None:
    """Supply, caps and orders of the sample for one cycle."""
    supply = [{"brand_code": r["brand_code"], "quantity": int(r["quantity"])} for r in sample_rows("supply")]
    caps = [{"retailer_id": r["retailer_id"], "cap": int(r["cap"])} for r in sample_rows("caps")]
    _ok(client.put(f"/v1/cycles/{cycle_id}/supply", json=supply, headers=admin), 200)
    _ok(client.put(f"/v1/cycles/{cycle_id}/caps", json=caps, headers=admin), 200)
    _ok(client.post(f"/v1/cycles/{cycle_id}/orders/import", content=demand_csv.encode(),
                    headers={**admin, "Content-Type": "text/csv"}), 200)


def build_world(client, auth, publish: bool = True) -> World:
    """Cycles `published`, `closed`, `open` and `planned` of the sample city, and a token per role."""
    managers = sample_rows("managers")
    manager = managers[0]["manager_id"]
    market = managers[0]["market_manager_id"]
    other = next(m["manager_id"] for m in managers if m["market_manager_id"] != market)
    retailers = sample_rows("retailers")
    capped = {r["retailer_id"] for r in sample_rows("caps")}
    owned = [r["retailer_id"] for r in retailers
             if r["manager_id"] == manager and r["retailer_id"] in capped and r.get("status", "active") == "active"]
    own = owned[0]
    foreign = next(r["retailer_id"] for r in retailers if r["manager_id"] == other)
    headers: dict[str | None, dict[str, str]] = {None: {}}
    headers.update({role: auth(role) for role in ("admin", "distribution_center", "auditor")})
    headers["account_manager"] = auth("account_manager", manager)
    headers["market_manager"] = auth("market_manager", market)
    admin = headers["admin"]
    demand = (SAMPLE / "demand.csv").read_text(encoding="utf-8")
    cycles: dict[str, str] = {}
    start = datetime(2026, 11, 2).date()
    names = ["published", "closed", "open", "planned"] if publish else ["closed", "open", "planned"]
    for i, state in enumerate(names):
        body = {"name": f"2026-W{45 + i} {state}", "start_date": str(start + timedelta(weeks=i)),
                "end_date": str(start + timedelta(weeks=i, days=6))}
        if state == "planned":
            body["opens_at"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        cycles[state] = _ok(client.post("/v1/cycles", json=body, headers=admin), 201).json()["id"]
        if state != "planned":
            fill_cycle(client, admin, cycles[state], demand)
        if state in ("published", "closed"):
            _ok(client.post(f"/v1/cycles/{cycles[state]}/close", headers=admin), 200)
    brands = [b["brand_code"] for b in sample_rows("brands")]
    _ok(client.put(f"/v1/cycles/{cycles['planned']}/forecasts/{manager}", headers=headers["account_manager"],
                   json={"lines": [{"brand_code": b, "quantity": 10} for b in brands[:5]]}), 200)
    move = {"moves": [{"from_retailer_id": owned[1], "to_retailer_id": own, "quantity": 1}], "reason": "shop moved"}
    adjustment = _ok(client.post(f"/v1/cycles/{cycles['open']}/cap-adjustments", json=move,
                                 headers=headers["account_manager"]), 201).json()["id"]
    scenario_id = _ok(client.post(f"/v1/cycles/{cycles['closed']}/scenarios", json={"name": "world"}, headers=admin),
                      202).json()["scenario_id"]
    run_id = ""
    if publish:
        run_id = _ok(client.post(f"/v1/cycles/{cycles['published']}/allocation-runs", headers=admin),
                     202).json()["run_id"]
        status = _ok(client.get(f"/v1/allocation-runs/{run_id}", headers=admin), 200).json()["status"]
        assert status == "succeeded", status
        _ok(client.post(f"/v1/allocation-runs/{run_id}/publish", headers=admin), 200)
    return World(cycles=cycles, headers=headers, manager_id=manager, market_manager_id=market, own_retailer=own,
                 other_retailer=foreign, run_id=run_id, adjustment_id=adjustment, scenario_id=scenario_id,
                 retailers=[r["retailer_id"] for r in retailers], brands=brands)


def committed_city(engine, managers: int = 1) -> dict[str, dict[str, str]]:
    """The sample city committed on a real engine, with headers for admin, auditor, the warehouse and managers.

    Keys: "admin", "auditor", "distribution_center", "market_manager", and "account_manager" (plus
    "account_manager:<id>" for the first `managers` account managers).
    """
    from sqlmodel import Session

    from models.load import load_dir
    from models.users import get_or_create_company

    rows = sample_rows("managers")
    with Session(engine) as s:
        company = get_or_create_company(s, "reliability", "Reliability")
        load_dir(s, company.id, SAMPLE)
        tokens = sample_users(s, company.id, {"market_manager": ("mm", rows[0]["market_manager_id"])},
                              [m["manager_id"] for m in rows[:managers]])
        s.commit()
    if managers:
        tokens["account_manager"] = tokens[f"account_manager:{rows[0]['manager_id']}"]
    return {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


def sample_users(session, company_id: int, market_managers: dict[str, tuple[str, str]],
                 account_managers: list[str]) -> dict[str, str]:
    """Tokens of new users in the sample city: "admin", "auditor" and "distribution_center"; each market manager
    under its key (key: (name, his market_manager_id)); each account manager as "account_manager:<id>"."""
    from models.users import create_user

    tokens = {role: create_user(session, company_id, role, name=role)[1]
              for role in ("admin", "auditor", "distribution_center")}
    for key, (name, mm_id) in market_managers.items():
        tokens[key] = create_user(session, company_id, "market_manager", name=name, manager_id=mm_id)[1]
    for manager_id in account_managers:
        tokens[f"account_manager:{manager_id}"] = create_user(session, company_id, "account_manager",
                                                              name=f"am-{manager_id}", manager_id=manager_id)[1]
    return tokens
