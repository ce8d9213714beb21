"""The console's frame without a browser: sign-in cookie, CSRF, language order, error pages, kept out of /v1."""

from __future__ import annotations

import re

import pytest

from api.ui.session import TOKEN_COOKIE
from tests.conftest import make_client


@pytest.fixture
def ui(connection):
    return make_client(connection)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(ui, token: str, next_path: str = ""):
    form = ui.get("/ui/")
    return ui.post("/ui/sign-in", data={"token": token, "csrf": csrf_of(form.text), "next": next_path},
                   follow_redirects=False)


def test_sign_in_sets_a_strict_http_only_cookie_for_console_paths_only(ui, auth):
    token = auth("auditor")["Authorization"].split()[1]
    r = sign_in(ui, token)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{TOKEN_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    page = ui.get(r.headers["location"])
    assert page.status_code == 200, page.text[:300]
    # the cookie is no token for the API: /v1 answers 401 without a Bearer header
    ui.cookies.set(TOKEN_COOKIE, token, path="/v1")
    assert ui.get("/v1/cycles").status_code == 401


def test_a_wrong_token_is_refused_in_the_page_language(ui):
    form = ui.get("/ui/?lang=en")
    r = ui.post("/ui/sign-in?lang=en", data={"token": "nope", "csrf": csrf_of(form.text)})
    assert r.status_code == 401 and "unknown or revoked" in r.text
    r = ui.post("/ui/sign-in", data={"token": "nope", "csrf": csrf_of(form.text)},
                headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 401 and "未知或已吊销" in r.text


def test_every_form_needs_its_csrf_value(ui, auth):
    token = auth("auditor")["Authorization"].split()[1]
    assert sign_in(ui, token).status_code == 303
    assert ui.post("/ui/sign-out", data={}).status_code == 403
    assert ui.post("/ui/sign-out", data={"csrf": "forged"}).status_code == 403
    good = csrf_of(ui.get("/ui/audit").text)
    assert ui.post("/ui/sign-out", data={"csrf": good}, headers={"Origin": "http://evil.example"}).status_code == 403
    out = ui.post("/ui/sign-out", data={"csrf": good}, follow_redirects=False)
    assert out.status_code == 303 and f'{TOKEN_COOKIE}=""' in out.headers["set-cookie"]
    # a sign-in form is CSRF-protected too (its value lives in a nonce cookie until there is a token)
    fresh = make_client(ui.app.state.engine)
    assert fresh.post("/ui/sign-in", data={"token": token, "csrf": "x"}).status_code == 403


def test_language_order_is_query_then_cookie_then_accept_language_then_chinese(ui):
    def lang(**kw):
        html = ui.get("/ui/", **kw).text
        return re.search(r'<html lang="([^"]+)"', html).group(1)

    assert lang() == "zh-CN"
    assert lang(headers={"Accept-Language": "en-US,en;q=0.9"}) == "en"
    assert lang(headers={"Accept-Language": "fr, en;q=0.5"}) == "en"
    assert lang(headers={"Accept-Language": "fr"}) == "zh-CN"
    switch = ui.get("/ui/lang/en?next=/ui/", follow_redirects=False)
    assert switch.status_code == 303 and switch.headers["location"] == "/ui/"
    assert lang(headers={"Accept-Language": "zh-CN"}) == "en"  # the switch's cookie beats the browser
    assert lang(params={"lang": "zh"}) == "zh-CN"  # ?lang= beats the cookie
    assert ui.get("/ui/lang/en?next=https://evil.example/", follow_redirects=False).headers["location"] == "/ui/"


def test_pages_ask_for_sign_in_and_refuse_other_roles_by_code(ui, auth):
    r = ui.get("/ui/audit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/?next=%2Fui%2Faudit"
    assert sign_in(ui, auth("distribution_center")["Authorization"].split()[1]).status_code == 303
    r = ui.get("/ui/audit?lang=en")
    assert r.status_code == 403 and 'data-code="forbidden"' in r.text and "may not open this page" in r.text
    assert ui.get("/ui/no-such-page").status_code == 404


def test_console_routes_stay_out_of_the_api_schema(ui):
    paths = ui.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def test_pages_carry_no_outside_address_and_a_strict_policy(ui):
    r = ui.get("/ui/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert ref.startswith("/ui/") or ref.startswith("#"), ref
    assert ui.get(re.search(r'src="(/ui/static/vendor/htmx[^"]+)"', r.text).group(1)).status_code == 200


def test_an_htmx_action_refused_by_its_state_answers_a_message_for_the_page(connection, client, auth, sample):
    """A 409 from the model reaches an HTMX button as a sentence in the page's language, aimed at #flash."""
    from api.ui.session import csrf_for
    from tests.worlds.sample import build_world

    world = build_world(client, auth)
    token = world.headers["market_manager"]["Authorization"].split()[1]
    ui = make_client(connection)
    ui.cookies.set(TOKEN_COOKIE, token, path="/ui")
    r = ui.post(f"/ui/approvals/{world.cycles['closed']}/{world.own_retailer}/approve", data={"version": "1"},
                headers={"X-CSRF-Token": csrf_for(token), "HX-Request": "true"})
    assert r.status_code == 409 and r.headers["HX-Retarget"] == "#flash"
    assert 'data-code="cycle_state"' in r.text and "订货周期当前的状态不允许此操作" in r.text
    assert "<html" not in r.text  # a fragment, not a page
