"""The supply plan page and a what-if against its run, in a real browser (both languages), read back through /v1."""

from __future__ import annotations

from tests.ui.browser import axe_violations, chart_points, screenshot


def test_supply_plan_page_marks_the_slightly_tight_classes(open_as, world, api):
    cycle = world.cycles["planned"]
    plan = api.get(f"/v1/cycles/{cycle}/supply-plan", params={"limit": 50}, headers=world.bearer("auditor")).json()
    page = open_as("auditor", f"/ui/supply-plan/{cycle}")
    shown = page.locator("table.stack tbody tr").count()
    assert shown == len(plan["items"]) > 0
    assert chart_points(page, "#plan-specs") == 2 * shown and chart_points(page, "#plan-classes") > 0
    first = plan["items"][0]
    cells = page.locator("table.stack tbody tr").first.locator("td").all_inner_texts()
    assert cells[0] == first["brand_code"] and cells[6] == f"{first['proposed']:,}"
    tight = [x for x in plan["items"] if x["price_class"] in (4, 5)]
    assert page.locator("table.stack tbody tr", has_text="稍紧平衡").count() == len(tight) > 0
    screenshot(page, "supply-plan")
    assert axe_violations(page) == []
    en = open_as("admin", f"/ui/supply-plan/{cycle}", locale="en-US")
    assert en.locator("h1").inner_text().startswith("Supply plan")
    assert open_as("account_manager", f"/ui/supply-plan/{cycle}").locator("[data-code=forbidden]").count() == 1


def test_scenario_page_charts_the_comparison(open_as, world, api):
    cycle = world.cycles["published"]
    cut = {"name": "no " + world.brands[0], "supply": [{"brand_code": world.brands[0], "quantity": 0}]}
    made = api.post(f"/v1/cycles/{cycle}/scenarios", json=cut, headers=world.bearer("admin"))
    assert made.status_code == 202, made.text
    sid = made.json()["scenario_id"]
    sc = api.get(f"/v1/scenarios/{sid}", headers=world.bearer("admin")).json()
    assert sc["status"] == "succeeded" and sc["comparison"]["volume_change"] < 0
    page = open_as("admin", f"/ui/scenarios/{sid}", locale="en-US")
    assert chart_points(page, "#fill-histograms") == 24                     # 12 buckets, scenario and run
    short = [x for x in sc["comparison"]["shortfall_by_spec"] if x["run"] or x["scenario"]]
    assert chart_points(page, "#shortfall") == 2 * len(short)
    changed = api.get(f"/v1/scenarios/{sid}/allocations", params={"changed": "true", "limit": 50},
                      headers=world.bearer("admin")).json()["items"]
    rows = page.locator("table.stack tbody tr")
    assert rows.count() == len(changed) > 0
    assert rows.first.locator("td").all_inner_texts()[:2] == [changed[0]["retailer_id"], changed[0]["brand_code"]]
    assert page.get_by_text(f"{sc['comparison']['retailers_changed']:,}", exact=True).count() >= 1
    screenshot(page, "scenario")
    assert axe_violations(page) == []
    zh = open_as("auditor", f"/ui/scenarios/{sid}")
    assert zh.locator("h2", has_text="各规格缺口").count() == 1
    board = open_as("admin", f"/ui/cycles/{cycle}")
    assert board.locator(f"a[href='/ui/scenarios/{sid}']").count() == 1
    assert open_as("distribution_center", f"/ui/scenarios/{sid}").locator("[data-code=forbidden]").count() == 1
