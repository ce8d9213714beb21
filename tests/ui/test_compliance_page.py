"""/ui/compliance in a real browser: the figures and clusters the API answers, the chart per manager, a month
pooled, and each role's view (the sample's cycles carry three planted clusters: M001's 3, M002's 4, M004's 5)."""

from __future__ import annotations

from tests.ui.browser import axe_violations, chart_points, screenshot


def test_auditor_reads_the_figures_chart_and_clusters(open_as, world, api):
    cycle = world.cycles["published"]
    page = open_as("auditor", f"/ui/compliance?cycle_id={cycle}")
    body = api.get("/v1/compliance", params={"cycle_id": cycle}, headers=world.bearer("auditor")).json()["items"]
    rows = page.locator("#compliance tbody tr")
    assert rows.count() == len(body) == 5  # the company row, then four managers
    company = rows.nth(0).locator("td").all_inner_texts()
    assert company[0] == "全公司" and company[2] == f"{body[0]['orders']:,}"
    assert company[3] == f"{body[0]['self_submission_rate']:.1%}"
    assert chart_points(page, "#compliance-managers") == 2 * 4  # self-submission and cluster share per manager
    clusters = api.get("/v1/compliance/clusters", params={"cycle_id": cycle}, headers=world.bearer("auditor")).json()
    shown = page.locator("#clusters tbody tr")
    assert sorted(c["size"] for c in clusters["items"]) == [3, 4, 5] and shown.count() == 3
    for i, c in enumerate(clusters["items"]):
        cells = shown.nth(i).locator("td").all_inner_texts()
        assert cells[1:3] == [c["manager_id"], str(c["size"])] and cells[4] == ", ".join(c["retailer_ids"])
    screenshot(page, "auditor-compliance")
    assert axe_violations(page) == []
    page.select_option("#f-cycle", "")
    page.select_option("#f-period", "2026-10")
    page.click("form.filters button")
    page.wait_for_url("**period=2026-10**")
    assert "2026-10-01..2026-10-31" in page.locator("#compliance").inner_text()
    assert page.locator("#clusters tbody tr").count() == 3 * 3  # October: two published weeks and a closed one


def test_market_manager_sees_his_team_and_others_are_refused(open_as, world):
    page = open_as("market_manager", f"/ui/compliance?cycle_id={world.cycles['published']}", locale="en-US")
    managers = page.locator("#compliance tbody tr td:first-child").all_inner_texts()
    assert managers == ["M001", "M002"]  # MM01's team, no company row
    assert page.locator("#clusters tbody tr td:nth-child(2)").all_inner_texts() == ["M001", "M002"]
    assert chart_points(page, "#compliance-managers") == 2 * 2
    page = open_as("account_manager", "/ui/compliance")
    assert page.locator("[data-code=forbidden]").count() == 1
