"""Auditors' accuracy pages and the distribution center's pick list, in a real browser."""

from __future__ import annotations

from tests.ui.browser import axe_violations, chart_points, screenshot


def test_auditor_ranks_per_cycle_and_pooled_over_a_month(open_as, world, api):
    page = open_as("auditor", "/ui/")
    page.wait_for_url("**/ui/accuracy")  # the auditor's home
    cycle = world.cycles["published"]
    page.goto(f"/ui/accuracy?cycle_id={cycle}")
    ranks = page.locator("table.accuracy tbody tr")
    assert ranks.count() == 4 and chart_points(page, "#accuracy-ranks") == 4
    screenshot(page, "auditor-accuracy")
    assert axe_violations(page) == []
    body = api.get(f"/v1/accuracy?cycle_id={cycle}", headers=world.bearer("auditor")).json()
    best = min(body["items"], key=lambda r: (r["rank"], r["manager_id"]))
    first = ranks.nth(0).locator("td").all_inner_texts()
    assert first[:3] == [str(best["rank"]), best["manager_id"], "2026-W42"]
    assert first[3] == f"{best['single_brand_accuracy']:.1%}" and best["single_brand_accuracy"] > 0
    page.select_option("#f-cycle", "")
    page.select_option("#f-period", "2026-10")
    page.check("#f-key")
    page.click("form.filters button")
    page.wait_for_url("**period=2026-10**")
    assert "2026-10-01..2026-10-31" in page.locator("table.accuracy").inner_text()
    assert chart_points(page, "#accuracy-ranks") == 4


def test_auditor_follows_one_managers_trend_and_errors(open_as, world):
    page = open_as("auditor", f"/ui/accuracy/managers/{world.manager_id}", locale="en-US")
    cycles = page.locator("table").first.locator("tbody tr").count()
    assert cycles >= 3 and chart_points(page, "#accuracy-trend") == 3 * cycles  # three figures per closed cycle
    assert page.locator("#spec-errors tbody tr").count() > 0
    screenshot(page, "auditor-accuracy-manager")
    assert axe_violations(page) == []


def test_account_manager_sees_himself_only(open_as, world):
    page = open_as("account_manager", "/ui/accuracy")
    assert page.locator("table.accuracy tbody tr").count() == 1
    page = open_as("account_manager", "/ui/accuracy/managers/M003")
    assert page.locator("[data-code=manager_not_found]").count() == 1


def test_distribution_center_prints_a_pick_list_and_downloads_rows(open_as, world, api):
    page = open_as("distribution_center", "/ui/distribution")
    assert page.locator("#publications tbody tr").count() >= 2
    screenshot(page, "distribution-publications")
    cycle = world.cycles["published"]
    page.click(f"#publications a[href='/ui/distribution/{cycle}']")
    page.select_option("#f-route", "R0001")
    page.select_option("#f-day", "1")
    page.click("form.filters button")
    page.wait_for_url("**route_id=R0001**")
    api_lines = api.get(f"/v1/cycles/{cycle}/pick-list?route_id=R0001&delivery_weekday=1&limit=1000",
                        headers=world.bearer("distribution_center")).json()["items"]
    rows = page.locator("#pick-list tbody tr")
    assert rows.count() == len(api_lines) > 0
    first = rows.nth(0).locator("td").all_inner_texts()
    assert first[2:] == [f"{api_lines[0]['cases']:,}", f"{api_lines[0]['cartons_over']:,}", f"{api_lines[0]['cartons']:,}"]
    screenshot(page, "distribution-pick-list")
    assert axe_violations(page) == []
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden() and page.locator("#pick-list").is_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("#csv")
    text = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert text[0].startswith("retailer_id,brand_code") and len(text) > 1
    assert all(",R0001,1," in line for line in text[1:])
