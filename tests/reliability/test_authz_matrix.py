"""Every route of the OpenAPI schema x every role and no token: who gets past authorization, per CONTRACT.

The route list comes from the running app, so a new route without a row in `matrix.WHO` fails here. A role that
may never do the thing gets 403 even when its body is malformed (403 comes before 422); no token gets 401 first.
Allowed readers get 200 on objects they may see; allowed writers get past authorization (2xx, or 404/409/422 from
the state of the objects this test aims at).
"""

from __future__ import annotations


from allocation.vocabulary import Role
from tests.reliability.matrix import WHO, allowed, operations
from tests.reliability.routes import call, target

JUNK = b'{"unknown_field": [1, 2]}'  # well-formed JSON of the wrong shape: 422 if it were checked before the role
WRITE_ANSWERS = {200, 201, 202, 404, 409, 422}


def test_every_route_has_a_row(client):
    documented = set(operations(client.app.openapi()))
    assert documented - set(WHO) == set(), "routes without an authorization row: add them to matrix.WHO"
    assert set(WHO) - documented == set(), "rows for routes the app no longer has"


def test_authorization_matrix(client, sample_world):
    problems = []
    labels = operations(client.app.openapi())
    # reads first, then writes, so no write changes what a later read may see
    for label in sorted(labels, key=lambda x: (not x.startswith("GET"), x)):
        url, request = target(label, sample_world)
        method = label.split(" ", 1)[0]
        junk = {"content": JUNK, "headers": {"Content-Type": "application/json"}} if method != "GET" else {}
        # refused callers first (they change nothing), then the allowed ones
        order = sorted([None, *Role], key=lambda r: allowed(label, r))
        for role in order:
            headers = sample_world.headers[role]
            if not allowed(label, role):
                expected = 401 if role is None else 403
                for req in (request, junk) if junk else (request,):
                    r = call(client, label, url, headers, req)
                    if r.status_code != expected or r.json().get("code") != ("unauthorized" if role is None
                                                                            else "forbidden"):
                        problems.append(f"{label} as {role}: {r.status_code} {r.text[:150]} (expected {expected})")
                continue
            r = call(client, label, url, headers, request)
            ok = r.status_code == 200 if method == "GET" else r.status_code in WRITE_ANSWERS
            if not ok:
                problems.append(f"{label} as {role}: {r.status_code} {r.text[:200]}")
    assert not problems, "\n".join(problems)
