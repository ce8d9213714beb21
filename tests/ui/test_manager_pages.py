"""Market and account managers' pages: sign-off read back through the API, the phone-sized order form, forecasts."""

from __future__ import annotations

from tests.ui.browser import PHONE, axe_violations, screenshot


def test_market_manager_signs_off_a_collected_order(open_as, world, api):
    cycle = world.cycles["open"]
    page = open_as("market_manager", "/ui/approvals")
    rows = page.locator("#pending-orders tbody tr[id^=order-]")
    assert rows.count() == len(world.collected_retailers)
    page.wait_for_selector("#team-accuracy table.accuracy tbody tr")  # the team's scores load after the page
    assert page.locator("#team-accuracy table.accuracy tbody tr").count() == 2  # his two account managers
    screenshot(page, "market-manager-approvals")
    assert axe_violations(page) == []
    rid = world.collected_retailers[0]
    page.click(f"#order-{rid} td button.link")  # the lines load in place
    page.wait_for_selector(f"#lines-{rid} li")
    page.click(f"#order-{rid} button.approve")
    page.wait_for_selector(f"#order-{rid}[data-status=approved]")
    order = api.get(f"/v1/cycles/{cycle}/orders/{rid}", headers=world.bearer("auditor")).json()
    assert order["status"] == "approved" and order["approved_version"] == order["version"] == 1


def test_market_manager_decides_a_cap_adjustment(open_as, world, api):
    page = open_as("market_manager", "/ui/approvals", locale="en-US")
    page.click(f"#adjustment-{world.adjustment_id} button.reject")
    page.wait_for_selector(f"#adjustment-{world.adjustment_id}[data-status=rejected]")
    adj = api.get(f"/v1/cap-adjustments/{world.adjustment_id}", headers=world.bearer("auditor")).json()
    assert adj["status"] == "rejected"
    assert page.locator(f"#adjustment-{world.other_adjustment_id}").count() == 0  # another team's stays unseen


def test_account_manager_orders_from_a_phone(open_as, world, api):
    cycle = world.cycles["open"]
    page = open_as("account_manager", "/ui/orders", viewport=PHONE)
    assert page.locator("#retailers tbody tr").count() > 0
    screenshot(page, "account-manager-orders")
    assert axe_violations(page) == []
    rid = world.own_retailer
    page.click(f"#retailers a[href='/ui/orders/{cycle}/{rid}']")
    page.wait_for_url(f"**/ui/orders/{cycle}/{rid}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sideways on a phone
    empty = page.locator("input[name=brand_code]").evaluate_all(
        "els => els.map((e, i) => e.value === '' ? i : -1).filter(i => i >= 0)")
    page.locator("input[name=brand_code]").nth(empty[0]).fill(world.brands[-1])
    page.locator("input[name=quantity]").nth(empty[0]).fill("7")
    page.locator("input[name=quantity]").nth(0).fill("3000")  # above any cap: kept whole, with a warning
    page.locator("input[value=collected]").check()
    page.click("#submit-order")
    page.wait_for_selector("#saved")
    assert page.locator("#warning-above_cap").count() == 1
    screenshot(page, "account-manager-order-form")
    assert axe_violations(page) == []
    order = api.get(f"/v1/cycles/{cycle}/orders/{rid}", headers=world.bearer("account_manager")).json()
    lines = {x["brand_code"]: x["quantity"] for x in order["lines"]}
    assert lines[world.brands[-1]] == 7 and 3000 in lines.values()
    assert order["channel"] == "collected" and order["status"] == "pending_approval" and order["version"] >= 2
    assert order["warnings"][0]["code"] == "above_cap"


def test_order_form_refuses_a_bad_quantity_in_the_page_language(open_as, world):
    page = open_as("account_manager", f"/ui/orders/{world.cycles['open']}/{world.own_retailer}", viewport=PHONE)
    page.locator("input[name=quantity]").nth(0).fill("2.5")
    page.click("#submit-order")  # the browser itself refuses it first (pattern), so nothing is sent
    assert page.locator("[data-code]").count() == 0
    page.locator("form.order-form").evaluate("form => { form.noValidate = true; }")  # the server refuses it too
    page.click("#submit-order")
    assert page.locator("[data-code=invalid_quantity]").inner_text().startswith("数量须为")


def test_account_manager_forecasts_a_planned_cycle(open_as, world, api):
    page = open_as("account_manager", "/ui/forecasts", viewport=PHONE)
    page.fill(f"#fc-{world.brands[0]}", "120")
    page.fill(f"#fc-{world.brands[1]}", "45")
    page.click("#submit-forecast")
    page.wait_for_selector("#saved")
    screenshot(page, "account-manager-forecasts")
    assert axe_violations(page) == []
    got = api.get(f"/v1/cycles/{world.cycles['planned']}/forecasts/{world.manager_id}",
                  headers=world.bearer("account_manager")).json()
    assert {x["brand_code"]: x["quantity"] for x in got["lines"]} == {world.brands[0]: 120, world.brands[1]: 45}
