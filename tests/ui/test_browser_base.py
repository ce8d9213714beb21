"""Signing in through the form as every role, and the audit log page, in a real browser."""

from __future__ import annotations

from tests.ui.browser import axe_violations, screenshot
from tests.ui.world import SIGNED_IN

ROLE_ZH = {"admin": "营销部", "auditor": "督察审计", "distribution_center": "配送中心", "market_manager": "市场经理",
           "account_manager": "客户经理"}


def test_sign_in_as_each_role_lands_on_its_home_page(open_as, world):
    page = open_as(None, "/ui/")
    screenshot(page, "sign-in")
    assert axe_violations(page) == []
    for role in SIGNED_IN:
        page = open_as(None, "/ui/")
        page.fill("#token", world.tokens[role])
        page.click(".signin button")
        page.wait_for_url(lambda url: "/ui/" in url and not url.endswith("/ui/"))
        assert ROLE_ZH[role] in page.inner_text("header"), role
        assert page.locator("h1").count() == 1
        page.click("text=退出")
        page.wait_for_url("**/ui/")
        assert page.locator("#token").count() == 1


def test_audit_log_filters_and_pages(open_as):
    page = open_as("auditor", "/ui/audit?limit=10", locale="en-US")
    assert page.locator("html").get_attribute("lang") == "en"
    first = page.locator("tbody tr td:first-child").all_inner_texts()
    assert len(first) == 10
    page.click("a[rel=next]")
    page.wait_for_url("**cursor=**")
    assert page.locator("tbody tr").count() == 10 and page.locator("tbody tr td:first-child").all_inner_texts() >= first
    page.fill("#f-type", "cycle")
    page.click("form.filters button")
    page.wait_for_url("**object_type=cycle**")
    types = page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert types and all(t.startswith("cycle ") for t in types)
    screenshot(page, "audit")
    assert axe_violations(page) == []
