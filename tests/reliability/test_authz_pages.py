"""Every console page and action x every role and no sign-in: the same authorization as the API.

The route list comes from the running app, so a new page without a row in `pages.PAGES` fails here. Without a
sign-in a page sends the browser to the sign-in form (303) and an action answers 401; a role that may not see a
page gets 403, even for an action with a malformed form; allowed roles get past authorization.
"""

from __future__ import annotations


from allocation.vocabulary import Role
from api.ui.session import TOKEN_COOKIE, csrf_for
from tests.conftest import make_client
from tests.reliability.pages import FORMS, PAGES, console_routes
from tests.reliability.routes import ids_for

ALLOWED_WRITE = {200, 303, 404, 409, 422}


def test_every_console_route_has_a_row():
    routes = set(console_routes())
    assert routes - set(PAGES) == set(), "console routes without an authorization row: add them to pages.PAGES"
    assert set(PAGES) - routes == set(), "rows for console routes the app no longer has"


def _url(label: str, sample_world) -> str:
    path = label.split(" ", 1)[1]
    ids = {**ids_for(label, sample_world), "lang": "en", "decision": "approve"}
    return path.format(**ids)


def test_console_authorization_matrix(connection, client, sample_world):
    problems = []
    labels = sorted(PAGES, key=lambda x: (not x.startswith("GET"), x))
    browser = make_client(connection)
    for label in labels:
        method, url = label.split(" ", 1)[0], _url(label, sample_world)
        who = PAGES[label]
        for role in (None, *Role):
            browser.cookies.clear()
            headers = {}
            if role is not None:
                token = sample_world.headers[role]["Authorization"].split()[1]
                browser.cookies.set(TOKEN_COOKIE, token, path="/ui")
                headers["X-CSRF-Token"] = csrf_for(token)
            r = browser.request(method, url, headers=headers, data=FORMS.get(label), follow_redirects=False)
            if who is None:
                ok = r.status_code < 500
            elif role is None:
                ok = r.status_code == (303 if method == "GET" else 401)
            elif role not in who:
                ok = r.status_code == 403 and 'data-code="forbidden"' in r.text
            else:
                ok = r.status_code == 200 if method == "GET" else r.status_code in ALLOWED_WRITE
            if not ok:
                problems.append(f"{label} as {role}: {r.status_code} {r.text[:120]!r}")
    assert not problems, "\n".join(problems)


def test_another_managers_objects_are_not_found_on_pages(connection, sample_world):
    """As in the API: a retailer (or its order, or a team's adjustment) of another manager answers 404."""
    browser = make_client(connection)

    def as_role(role: str):
        token = sample_world.headers[role]["Authorization"].split()[1]
        browser.cookies.clear()
        browser.cookies.set(TOKEN_COOKIE, token, path="/ui")
        return {"X-CSRF-Token": csrf_for(token)}

    cycle, other = sample_world.cycles["open"], sample_world.other_retailer
    h = as_role("account_manager")
    assert browser.get(f"/ui/orders/{cycle}/{other}").status_code == 404
    r = browser.post(f"/ui/orders/{cycle}/{other}", data={"brand_code": sample_world.brands[0], "quantity": "1"}, headers=h)
    assert r.status_code == 404 and 'data-code="not_found"' in r.text
    h = as_role("market_manager")
    assert browser.get(f"/ui/approvals/{cycle}/{other}").status_code == 404
    assert browser.post(f"/ui/approvals/{cycle}/{other}/approve", data={"version": "1"}, headers=h).status_code == 404
