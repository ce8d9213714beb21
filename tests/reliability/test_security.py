"""Hostile input and secrets: tokens kept hashed and never logged, limits enforced, internals never leaked."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from models import users
from models.tables import ApiToken
from tests.reliability.matrix import allowed, operations
from tests.reliability.routes import call, target
from tests.conftest import make_client
from tests.worlds.sample import committed_city

# An exception message as a database driver or a careless developer would write it.
LEAKY = ('(psycopg.errors.UndefinedColumn) SELECT token_sha256 FROM api_token WHERE secret = 1\n'
         'File "/srv/tobacco-alloc/models/orders.py", line 42, in list_orders')
HOSTILE_IDS = ["99999999999999999999", "-1", "%00", "a%00b", "%01%1f", "%7f", "%E2%80%AE123", "%F0%9F%98%80",
               "x" * 3000, "%FF", "'; DROP TABLE cycle; --"]


def token_of(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


# ---- tokens ------------------------------------------------------------------------------------------------

def test_tokens_are_stored_as_sha256_only(session, company):
    _, token = users.create_user(session, company.id, "auditor", name="sec-auditor")
    session.flush()
    stored = session.execute(select(ApiToken)).scalars().all()
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert digest in {t.token_sha256 for t in stored}
    for row in stored:
        values = [str(v) for v in row.model_dump().values()]
        assert not any(token in v for v in values), "the token itself is stored"
    assert len(token) >= 43  # 256 random bits, url-safe base64


def test_token_digests_are_compared_in_constant_time(client, auth, company, monkeypatch):
    headers = auth("auditor")
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(users.hmac, "compare_digest", spy)
    assert client.get("/v1/cycles", headers=headers).status_code == 200
    digest = hashlib.sha256(token_of(headers).encode()).hexdigest()
    assert (digest, digest) in calls or any(digest in (a, b) for a, b in calls)


def test_tokens_never_reach_the_logs(committed_engine, caplog, monkeypatch):
    """Every logger at DEBUG, SQLAlchemy's statements and their parameters included, on fresh connections."""
    headers = committed_city(committed_engine)["admin"]
    token = token_of(headers)
    bad = "Zm9yZ2VkLXRva2VuLXRoYXQtaXMtbm90LWluLXRoZS1kYXRhYmFzZQ"
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    client = make_client(committed_engine)
    client.get("/v1/cycles", headers=headers)
    client.get("/v1/cycles", headers={"Authorization": f"Bearer {bad}"})
    client.post("/v1/cycles", json={"name": "x"}, headers=headers)

    def explode(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr("models.cycles.list_cycles", explode)
    assert client.get("/v1/cycles", headers=headers).status_code == 500
    assert client.get("/v1/cycles", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    assert any("api_token" in r.getMessage() for r in caplog.records), "no SQL was logged: this proves nothing"
    assert any("unhandled error" in r.getMessage() for r in caplog.records)
    assert token not in caplog.text and bad not in caplog.text


def test_an_unknown_or_malformed_token_is_401(client, company):
    for value in ["Bearer ", "Bearer x", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 5000, "bearer\tx", "x"]:
        r = client.get("/v1/cycles", headers={"Authorization": value})
        assert r.status_code == 401, (value[:20], r.text)
        assert r.json()["code"] == "unauthorized" and r.headers.get("www-authenticate") == "Bearer"


# ---- limits ------------------------------------------------------------------------------------------------

def test_every_list_refuses_a_page_above_1000(client, sample_world):
    spec = client.app.openapi()
    lists = [label for label in operations(spec) if label.startswith("GET ")
             and any(p["name"] == "limit" for p in spec["paths"][label[4:]]["get"].get("parameters", []))]
    assert len(lists) >= 15
    w = sample_world
    ids = {"cycle_id": w.cycles["published"], "retailer_id": w.own_retailer, "manager_id": w.manager_id,
           "run_id": w.run_id, "adjustment_id": w.adjustment_id, "scenario_id": w.scenario_id}
    for label in lists:
        url = label[4:].format(**ids)
        extra = {"cycle_id": sample_world.cycles["published"]} if "accuracy" in label or "compliance" in label else {}
        role = "admin" if allowed(label, "admin") else "account_manager"
        for limit in ("1001", "0", "-1", "99999999999999999999999", "1e3"):
            r = client.get(url, params={**extra, "limit": limit}, headers=sample_world.headers[role])
            assert r.status_code == 422 and r.json()["code"] == "invalid_request", (label, limit, r.text[:200])
        ok = client.get(url, params={**extra, "limit": 1000}, headers=sample_world.headers["auditor"])
        assert ok.status_code in (200, 403), (label, ok.text[:200])


@pytest.fixture
def small_client(connection):
    """The API with a 4 kB body limit and 20 lines an order, so the limits are reached cheaply."""
    app = create_app(settings=Settings(database_url="sqlite://", run_in_process=True, max_body_bytes=4096,
                                       max_order_lines=20), engine=connection)
    return TestClient(app, raise_server_exceptions=False)


def test_a_declared_body_above_the_limit_is_413(small_client, sample_world):
    url = f"/v1/cycles/{sample_world.cycles['open']}/orders/{sample_world.own_retailer}"
    body = {"lines": [{"brand_code": f"{i:08d}", "quantity": 1} for i in range(300)]}
    r = small_client.put(url, json=body, headers=sample_world.headers["account_manager"])
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text[:200]
    csv = "retailer_id,brand_code,quantity\n" + f"{sample_world.own_retailer},{sample_world.brands[0]},1\n" * 400
    r = small_client.post(f"/v1/cycles/{sample_world.cycles['open']}/orders/import", content=csv.encode(),
                          headers={**sample_world.headers["admin"], "Content-Type": "text/csv"})
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text[:200]


def test_a_chunked_import_above_the_limit_is_413(small_client, sample_world):
    def chunks():
        yield b"retailer_id,brand_code,quantity\n"
        for _ in range(400):
            yield f"{sample_world.own_retailer},{sample_world.brands[0]},1\n".encode()

    r = small_client.post(f"/v1/cycles/{sample_world.cycles['open']}/orders/import", content=chunks(),
                          headers={**sample_world.headers["admin"], "Content-Type": "text/csv"})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text[:200]


def test_a_chunked_json_body_above_the_limit_is_413(small_client, sample_world):
    """Without Content-Length the limit must still hold, or one request can fill the server's memory."""
    def chunks():
        yield b'{"lines": ['
        for i in range(400):
            yield b'{"brand_code": "%08d", "quantity": 1},' % i
        yield b'{"brand_code": "last", "quantity": 1}]}'

    r = small_client.put(f"/v1/cycles/{sample_world.cycles['open']}/orders/{sample_world.own_retailer}", content=chunks(),
                         headers={**sample_world.headers["account_manager"], "Content-Type": "application/json"})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413 and r.json()["code"] == "too_large", r.text[:200]


def test_lines_per_order_are_limited(small_client, sample_world):
    url = f"/v1/cycles/{sample_world.cycles['open']}/orders/{sample_world.own_retailer}"
    lines = [{"brand_code": b, "quantity": 1} for b in sample_world.brands[:21]]
    r = small_client.put(url, json={"lines": lines}, headers=sample_world.headers["account_manager"])
    assert r.status_code == 422 and r.json()["code"] == "too_many_lines", r.text[:200]
    r = small_client.put(url, json={"lines": lines[:20]}, headers=sample_world.headers["account_manager"])
    assert r.status_code in (200, 201), r.text[:200]


# ---- internals never leak ----------------------------------------------------------------------------------

@pytest.mark.parametrize("target,url", [
    ("models.cycles.list_cycles", "/v1/cycles"),
    ("models.orders.list_orders", "/v1/cycles/{open}/orders"),
    ("models.distribution.published_rows", "/v1/cycles/{published}/allocations"),
])
def test_an_internal_error_answers_a_generic_500(client, sample_world, monkeypatch, target, url):
    from sqlalchemy.exc import ProgrammingError

    def explode(*_a, **_k):
        raise ProgrammingError(LEAKY, {"secret": 1}, Exception(LEAKY))

    monkeypatch.setattr(target, explode)
    r = client.get(url.format(**sample_world.cycles), headers=sample_world.headers["admin"])
    assert r.status_code == 500
    body = r.json()
    assert set(body) == {"detail", "code"} and body["code"] == "internal_error"
    for leak in ("Traceback", "SELECT", "api_token", "/srv", "orders.py", "psycopg", "secret"):
        assert leak not in r.text


def test_malformed_and_extreme_json_is_refused_with_422(client, sample_world):
    url = f"/v1/cycles/{sample_world.cycles['open']}/orders/{sample_world.own_retailer}"
    brand = sample_world.brands[0]
    bodies = {
        "cut short": '{"lines": [{"brand_code": "%s", "quantity": 1}' % brand,
        "not UTF-8": b'{"lines": [{"brand_code": "\xff\xfe", "quantity": 1}]}',
        "NaN": '{"lines": [{"brand_code": "%s", "quantity": NaN}]}' % brand,
        "Infinity": '{"lines": [{"brand_code": "%s", "quantity": -Infinity}]}' % brand,
        "huge integer": '{"lines": [{"brand_code": "%s", "quantity": %s}]}' % (brand, "9" * 5000),
        "huge float": '{"lines": [{"brand_code": "%s", "quantity": 1e400}]}' % brand,
        "fraction": '{"lines": [{"brand_code": "%s", "quantity": 1.5}]}' % brand,
        "quantity as text": '{"lines": [{"brand_code": "%s", "quantity": "1"}]}' % brand,
        "deep arrays": "[" * 100_000 + "]" * 100_000,
        "deep objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
        "nested in lines": '{"lines": ' + "[" * 5000 + "]" * 5000 + "}",
        "NUL in a spec": '{"lines": [{"brand_code": "a\\u0000b", "quantity": 1}]}',
        "control in a spec": '{"lines": [{"brand_code": "a\\u001bb", "quantity": 1}]}',
        "unknown field": '{"lines": [], "floor": 3}',
        "unknown field in a line": '{"lines": [{"brand_code": "%s", "quantity": 1, "minimum": 1}]}' % brand,
        "top-level array": "[]",
        "empty": "",
    }
    for name, body in bodies.items():
        data = body if isinstance(body, bytes) else body.encode()
        r = client.put(url, content=data, headers={**sample_world.headers["account_manager"],
                                                   "Content-Type": "application/json"})
        assert r.status_code == 422, (name, r.status_code, r.text[:200])
        assert set(r.json()) >= {"detail", "code"} and "Traceback" not in r.text, (name, r.text[:200])


def test_malformed_json_is_refused_after_authorization(client, sample_world):
    """CONTRACT's order is 401, 403, then 422: a broken body must not tell an outsider what the route expects."""
    url = f"/v1/cycles/{sample_world.cycles['open']}/orders/{sample_world.own_retailer}"
    broken = b'{"lines": [{"brand_code": '
    r = client.put(url, content=broken, headers={"Content-Type": "application/json"})
    assert r.status_code == 401, r.text[:200]
    r = client.put(url, content=broken, headers={**sample_world.headers["auditor"], "Content-Type": "application/json"})
    assert r.status_code == 403, r.text[:200]


def test_hostile_ids_in_every_path_are_refused_with_4xx(client, sample_world):
    """Every route with an id in its path, each id replaced by hostile text, the rest well-formed: 404 or 422."""
    problems = []
    for label in operations(client.app.openapi()):
        method, path = label.split(" ", 1)
        role = next(r for r in ("admin", "account_manager", "market_manager", "auditor", "distribution_center")
                    if allowed(label, r))
        for name in re.findall(r"{(\w+)}", path):
            for hostile in HOSTILE_IDS:
                url, request = target(label, sample_world, **{name: hostile})
                r = call(client, label, url, sample_world.headers[role], request)
                if not 400 <= r.status_code < 500 or "Traceback" in r.text:
                    problems.append(f"{label} {name}={hostile[:30]!r}: {r.status_code} {r.text[:120]}")
    assert not problems, "\n".join(problems)


def test_control_characters_in_query_ids_are_refused(client, sample_world):
    for params in ({"manager_id": "M\x00"}, {"route_id": "R\x01"}, {"cursor": "\x00"}):
        r = client.get("/v1/retailers", params=params, headers=sample_world.headers["admin"])
        assert 400 <= r.status_code < 500, (params, r.status_code, r.text[:200])
