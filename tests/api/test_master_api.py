"""Token auth, roles, object-level visibility of retailers, and paging limits."""

from __future__ import annotations

import hashlib
import pandas as pd
import pytest

from models.users import revoke_user
from tests.conftest import SAMPLE

ROLES_NO_MANAGER = ["admin", "distribution_center", "auditor"]


@pytest.fixture
def people():
    managers = pd.read_csv(SAMPLE / "managers.csv", dtype=str)
    retailers = pd.read_csv(SAMPLE / "retailers.csv", dtype=str)
    return managers, retailers


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_missing_and_wrong_tokens_are_401(client, sample):
    r = client.get("/v1/retailers")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/brands", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/brands", headers={"Authorization": "Basic abc"}).status_code == 401


def test_revoked_token_is_401(client, sample, auth, session):
    headers = auth("auditor")
    assert client.get("/v1/brands", headers=headers).status_code == 200
    revoke_user(session, sample.id, "auditor-x")
    session.commit()
    assert client.get("/v1/brands", headers=headers).status_code == 401


def test_token_is_stored_hashed(session, auth):
    from sqlalchemy import select

    from models.tables import ApiToken

    token = auth("admin")["Authorization"].split()[1]
    stored = session.execute(select(ApiToken.token_sha256)).scalars().all()
    assert token not in stored and all(len(s) == 64 for s in stored)
    assert hashlib.sha256(token.encode()).hexdigest() in stored


@pytest.mark.parametrize("role", ROLES_NO_MANAGER)
def test_company_wide_roles_see_every_retailer(client, sample, auth, people, role):
    _, retailers = people
    seen, cursor = [], None
    while True:
        r = client.get("/v1/retailers", params={"limit": 70, **({"cursor": cursor} if cursor else {})},
                       headers=auth(role))
        assert r.status_code == 200
        body = r.json()
        seen += [x["retailer_id"] for x in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(retailers.retailer_id) and len(seen) == len(set(seen))


def test_account_manager_sees_only_his_retailers(client, sample, auth, people):
    managers, retailers = people
    mid = managers.manager_id.iloc[0]
    r = client.get("/v1/retailers", params={"limit": 1000}, headers=auth("account_manager", mid))
    got = {x["retailer_id"] for x in r.json()["items"]}
    assert got == set(retailers[retailers.manager_id == mid].retailer_id)
    other = retailers[retailers.manager_id != mid].retailer_id.iloc[0]
    mine = retailers[retailers.manager_id == mid].retailer_id.iloc[0]
    assert client.get(f"/v1/retailers/{mine}", headers=auth("account_manager", mid)).status_code == 200
    r404 = client.get(f"/v1/retailers/{other}", headers=auth("account_manager", mid))
    assert r404.status_code == 404
    assert client.get("/v1/retailers/does-not-exist", headers=auth("account_manager", mid)).json() \
        == {**r404.json(), "detail": r404.json()["detail"].replace(other, "does-not-exist")}


def test_market_manager_sees_his_team(client, sample, auth, people):
    managers, retailers = people
    mm = managers.market_manager_id.iloc[0]
    team = set(managers[managers.market_manager_id == mm].manager_id)
    r = client.get("/v1/retailers", params={"limit": 1000}, headers=auth("market_manager", mm))
    got = {x["retailer_id"] for x in r.json()["items"]}
    assert got == set(retailers[retailers.manager_id.isin(team)].retailer_id)
    assert 0 < len(got) < len(retailers)


@pytest.mark.parametrize("limit,status", [(0, 422), (1001, 422), (1000, 200), (1, 200), ("x", 422)])
def test_page_size_limits(client, sample, auth, limit, status):
    r = client.get("/v1/brands", params={"limit": limit}, headers=auth("admin"))
    assert r.status_code == status
    if status == 422:
        assert r.json()["code"] == "invalid_request" and "limit" in r.json()["detail"]


def test_bad_cursor_is_422(client, sample, auth):
    r = client.get("/v1/brands", params={"cursor": "not-a-cursor"}, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"


def test_brands_paginate_without_skip_or_repeat(client, sample, auth):
    brands = pd.read_csv(SAMPLE / "brands.csv", dtype=str)
    seen, cursor = [], None
    for _ in range(100):
        r = client.get("/v1/brands", params={"limit": 7, **({"cursor": cursor} if cursor else {})},
                       headers=auth("distribution_center")).json()
        seen += [b["brand_code"] for b in r["items"]]
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(brands.brand_code)


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/retailers" in spec["paths"] and "/health" in spec["paths"]
    assert client.get("/docs").status_code == 200
