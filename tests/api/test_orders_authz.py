"""Who may do what on the order and audit routes: every route x every role x own/other object (CONTRACT)."""

from __future__ import annotations

import pytest

from tests.worlds.orders import body, order_url


# the caller of each role and whose objects count as "own": R1 belongs to M1 in MM1's team, R4 to M3 in MM2's
CALLERS = {"admin": None, "account_manager": "M1", "market_manager": "MM1", "distribution_center": None,
           "auditor": None}
OWN, OTHER = "R1", "R4"

# route -> role -> (status for own object, status for other object)
MATRIX = {
    "put": {"account_manager": (200, 404), "market_manager": (403, 403), "admin": (403, 403),
            "distribution_center": (403, 403), "auditor": (403, 403)},
    "import": {"account_manager": (200, 422), "admin": (200, 200), "market_manager": (403, 403),
               "distribution_center": (403, 403), "auditor": (403, 403)},
    "list": {"account_manager": (200, 200), "market_manager": (200, 200), "admin": (200, 200),
             "auditor": (200, 200), "distribution_center": (403, 403)},
    "get": {"account_manager": (200, 404), "market_manager": (200, 404), "admin": (200, 200),
            "auditor": (200, 200), "distribution_center": (403, 403)},
    "versions": {"account_manager": (200, 404), "market_manager": (200, 404), "admin": (200, 200),
                 "auditor": (200, 200), "distribution_center": (403, 403)},
    "approve": {"market_manager": (200, 404), "account_manager": (403, 403), "admin": (403, 403),
                "auditor": (403, 403), "distribution_center": (403, 403)},
    "audit": {"auditor": (200, 200), "admin": (200, 200), "account_manager": (403, 403),
              "market_manager": (403, 403), "distribution_center": (403, 403)},
}


@pytest.fixture
def orders_in(client, orders_world, auth):
    """A collected order for R1 (M1) and for R4 (M3), so every route has something to find."""
    c = orders_world["open"]
    for rid, mid in ((OWN, "M1"), (OTHER, "M3")):
        r = client.put(order_url(c, rid), json=body(("B1", 2), channel="collected"),
                       headers=auth("account_manager", mid))
        assert r.status_code == 201
    return c


def call(client, route, cycle, rid, headers):
    if route == "put":
        return client.put(order_url(cycle, rid), json=body(("B2", 3), channel="collected"), headers=headers)
    if route == "import":
        text = f"retailer_id,brand_code,quantity\n{rid},B3,1\n"
        return client.post(f"/v1/cycles/{cycle}/orders/import", content=text,
                           headers={**headers, "Content-Type": "text/csv"})
    if route == "list":
        return client.get(f"/v1/cycles/{cycle}/orders", params={"retailer_id": rid}, headers=headers)
    if route == "get":
        return client.get(order_url(cycle, rid), headers=headers)
    if route == "versions":
        return client.get(order_url(cycle, rid, "/versions"), headers=headers)
    if route == "approve":
        return client.post(order_url(cycle, rid, "/approve"), json={"version": 1}, headers=headers)
    return client.get("/v1/audit-events", params={"object_id": f"{cycle}/{rid}"}, headers=headers)


@pytest.mark.parametrize("route", list(MATRIX))
def test_matrix(client, orders_in, auth, route):
    """One route at a time, every role on its own object and on another's (setup shared to keep this fast)."""
    failures = []
    for role, (own, other) in MATRIX[route].items():
        headers = auth(role, CALLERS[role])
        for rid, expected in ((OWN, own), (OTHER, other)):
            r = call(client, route, orders_in, rid, headers)
            ok = r.status_code == expected and (expected < 400) == ("code" not in r.json())
            if ok and route == "list" and role in ("account_manager", "market_manager"):
                ok = [x["retailer_id"] for x in r.json()["items"]] == ([rid] if rid == OWN else [])
            if not ok:
                failures.append((role, rid, expected, r.status_code, r.text[:200]))
    assert failures == []


def test_no_or_bad_token_is_401(client, orders_in):
    for route in MATRIX:
        assert call(client, route, orders_in, OWN, {}).status_code == 401, route
        assert call(client, route, orders_in, OWN, {"Authorization": "Bearer nope"}).status_code == 401, route


def test_role_check_comes_before_body_validation(client, orders_in, auth):
    r = client.put(order_url(orders_in, OWN), json={"lines": "junk", "extra": 1}, headers=auth("auditor"))
    assert r.status_code == 403
    r = client.post(order_url(orders_in, OWN, "/approve"), json={"version": "x"}, headers=auth("account_manager", "M1"))
    assert r.status_code == 403
    r = client.post(f"/v1/cycles/{orders_in}/orders/import", content=b"junk",
                    headers={**auth("auditor"), "Content-Type": "application/json"})
    assert r.status_code == 403
