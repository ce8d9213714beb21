"""The marketing department's pages: the board, one cycle (close, run followed live, publish) and one run."""

from __future__ import annotations

from tests.ui.browser import axe_violations, chart_points, screenshot


def test_board_lists_every_cycle_with_its_counts(open_as, world, api):
    page = open_as("admin", "/ui/cycles")
    assert page.url.endswith("/ui/cycles")
    names = page.locator("tbody td:first-child a").all_inner_texts()
    assert names[0] == "2026-W45" and len(names) == len(set(world.cycles.values()))
    summary = api.get(f"/v1/cycles/{world.cycles['open']}/summary", headers=world.bearer("admin")).json()
    row = page.locator("tr", has_text="2026-W44").locator("td").all_inner_texts()
    assert row[3] == f"{summary['orders']:,}" and row[5] == f"{summary['collected_pending']:,}"
    screenshot(page, "admin-cycles")
    assert axe_violations(page) == []


def test_cycle_page_draws_supply_against_demand(open_as, world):
    page = open_as("admin", f"/ui/cycles/{world.cycles['published']}", locale="en-US")
    assert chart_points(page, "#supply-demand") > 0
    assert page.locator("#close-cycle").count() == 0 and page.locator("#start-run").count() == 0
    screenshot(page, "admin-cycle")
    assert axe_violations(page) == []


def test_run_page_draws_the_histogram_and_reasons(open_as, world):
    page = open_as("auditor", f"/ui/runs/{world.run_id}")
    assert chart_points(page, "#fill-histogram") == 12 and chart_points(page, "#short-reasons") == 3
    assert page.locator("tr", has_text="公平性违规").locator("td").inner_text() == "0"
    assert "总量优先" in page.locator("main p").first.inner_text()  # the run's priority: the policy's default
    screenshot(page, "admin-run")
    assert axe_violations(page) == []


def test_close_run_and_publish_from_the_pages(open_as, world, api):
    page = open_as("admin", f"/ui/cycles/{world.cycles['closed']}")
    page.click("#start-run")
    page.wait_for_selector("#run-status [data-status=succeeded]")  # followed by HTMX polling
    page.click("#publish-run")
    page.wait_for_url(f"**/ui/cycles/{world.cycles['closed']}")
    cycle = api.get(f"/v1/cycles/{world.cycles['closed']}", headers=world.bearer("auditor")).json()
    assert cycle["status"] == "published" and cycle["published_run_id"]
    fresh = api.post("/v1/cycles", json={"name": "close-me", "start_date": "2027-03-01", "end_date": "2027-03-07"},
                     headers=world.bearer("admin")).json()["id"]
    page = open_as("admin", f"/ui/cycles/{fresh}")
    page.click("#close-cycle")
    page.wait_for_selector("#start-run")
    assert api.get(f"/v1/cycles/{fresh}", headers=world.bearer("admin")).json()["status"] == "closed"


def test_auditor_reads_a_cycle_without_its_actions(open_as, world):
    page = open_as("auditor", f"/ui/cycles/{world.cycles['open']}")
    assert page.locator("#close-cycle").count() == 0
    page = open_as("distribution_center", f"/ui/cycles/{world.cycles['open']}")
    assert page.locator("[data-code=forbidden]").count() == 1
