"""Two city companies in one deployment: a user of one sees and touches nothing of the other, through every route.

Every route of the OpenAPI schema is called by every role of company B that may call it, aimed at company A's
objects: a route naming one of A's objects answers 404 (as for another manager's object); a list names none of
A's objects; and afterwards A's data is exactly as it was.
"""

from __future__ import annotations

import csv
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from allocation.vocabulary import Role
from models.load import load_dir
from models.users import get_or_create_company
from tests.conftest import SAMPLE, Tokens
from tests.reliability.matrix import WHO, allowed, operations
from tests.reliability.routes import call, ids_for, target
from tests.worlds.sample import build_world

RENAME = {"retailer_id": "9{}", "manager_id": "B{}", "market_manager_id": "B{}"}


def other_city(tmp_path):
    """The sample city under other retailer and manager ids (the specs, being national, keep their codes)."""
    for path in SAMPLE.glob("*.csv"):
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            for col, pattern in RENAME.items():
                if row.get(col):
                    row[col] = pattern.format(row[col])
        with open(tmp_path / path.name, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return tmp_path


def in_other_terms(request: dict, retailers: set[str]) -> dict:
    """The same request body with company A's retailers replaced by B's, so only the URL names A's objects."""
    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return RENAME["retailer_id"].format(x) if isinstance(x, str) and x in retailers else x

    out = dict(request)
    if "json" in out:
        out["json"] = walk(out["json"])
    if "content" in out:
        lines = out["content"].decode().split("\n")
        out["content"] = "\n".join(",".join(walk(c) for c in line.split(",")) for line in lines).encode()
    return out


def fingerprint(session, company_id: int) -> dict:
    """Row counts of every company-scoped table, the newest audit event, and every cycle's state, for company A."""
    out = {}
    for table in SQLModel.metadata.sorted_tables:
        if "company_id" in table.c:
            out[table.name] = tuple(session.execute(select(func.count(), func.max(table.c.get("id", table.c.company_id)))
                                              .where(table.c.company_id == company_id)).one())
    return out


@pytest.fixture
def two_companies(client, auth, session, sample, tmp_path):
    world = build_world(client, auth)
    other = get_or_create_company(session, "other", "Other city")
    load_dir(session, other.id, other_city(tmp_path))
    session.commit()
    tokens = Tokens(session, other.id)
    managers = list(csv.DictReader(open(tmp_path / "managers.csv", encoding="utf-8")))
    headers = {role: tokens(role) for role in ("admin", "distribution_center", "auditor")}
    headers["account_manager"] = tokens("account_manager", managers[0]["manager_id"])
    headers["market_manager"] = tokens("market_manager", managers[0]["market_manager_id"])
    return world, headers


def test_a_user_of_one_company_sees_and_touches_nothing_of_another(client, session, company, two_companies):
    world, other = two_companies
    before = fingerprint(session, company.id)
    own_ids = {v for v in ids_for("GET /", world).values() if v} | set(world.cycles.values())
    # what would show one of A's objects: its people and shops, its cycles by name, references to its cycles and runs
    names = client.get("/v1/cycles", headers=world.headers["admin"], params={"limit": 1000}).json()["items"]
    markers = [f'"{x}"' for x in (world.own_retailer, world.other_retailer, world.manager_id, world.market_manager_id)]
    markers += [f'"{c["name"]}"' for c in names] + [f'"cycle_id":"{c}"' for c in world.cycles.values()]
    markers += [f'"run_id":"{world.run_id}"']
    problems = []
    labels = [x for x in operations(client.app.openapi()) if WHO[x] is not None]
    for label in sorted(labels, key=lambda x: (not x.startswith("GET"), x)):
        url, request = target(label, world)
        request = in_other_terms(request, set(world.retailers))
        # an id of A's in the path must answer 404; one in the query 404 too, unless the route ignores it
        query = parse_qs(urlsplit(url).query)
        must_404 = "{" in label
        may_404 = any(v in own_ids for values in query.values() for v in values)
        for role in Role:
            if not allowed(label, role):
                continue
            r = call(client, label, url, other[role], request)
            if must_404 or (may_404 and r.status_code == 404):
                if r.status_code != 404:
                    problems.append(f"{label} as {role} of another company: {r.status_code} {r.text[:150]}")
            elif r.status_code >= 500 or any(m in r.text for m in markers):
                problems.append(f"{label} as {role} of another company shows company A: {r.text[:200]}")
    assert not problems, "\n".join(problems)
    session.expire_all()
    assert fingerprint(session, company.id) == before, "another company's calls changed this company's data"
