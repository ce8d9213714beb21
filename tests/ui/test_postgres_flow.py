"""On PostgreSQL: a market manager signs in through the form, signs off a collected order, and the API reads it."""

from __future__ import annotations

import httpx

from tests.conftest import SAMPLE, make_client
from tests.worlds.sample import committed_city, fill_cycle, sample_rows
from tests.ui.browser import DESK
from tests.ui.conftest import Served


def test_sign_in_and_approve_on_postgresql(pg_committed_engine, browser, guard):
    headers = committed_city(pg_committed_engine)
    client = make_client(pg_committed_engine)
    cycle = client.post("/v1/cycles", json={"name": "pg-open", "start_date": "2026-11-02", "end_date": "2026-11-08"},
                        headers=headers["admin"]).json()["id"]
    fill_cycle(client, headers["admin"], cycle, (SAMPLE / "demand.csv").read_text(encoding="utf-8"))
    managers = sample_rows("managers")
    team = {m["manager_id"] for m in managers if m["market_manager_id"] == managers[0]["market_manager_id"]}
    owner = {r["retailer_id"]: r["manager_id"] for r in sample_rows("retailers")}
    rid = next(line.split(",")[0] for line in (SAMPLE / "demand.csv").read_text().splitlines()
               if line.endswith(",collected") and owner[line.split(",")[0]] in team)
    served = Served(pg_committed_engine)
    try:

        context = browser.new_context(locale="zh-CN", viewport=DESK, base_url=served.base)
        context.route("**/*", guard)
        page = context.new_page()
        page.goto("/ui/")
        page.fill("#token", headers["market_manager"]["Authorization"].split()[1])
        page.click(".signin button")
        page.wait_for_url("**/ui/approvals")
        page.click(f"#order-{rid} button.approve")
        page.wait_for_selector(f"#order-{rid}[data-status=approved]")
        context.close()
        order = httpx.get(f"{served.base}/v1/cycles/{cycle}/orders/{rid}", headers=headers["auditor"]).json()
        assert order["status"] == "approved" and order["approved_version"] == 1
    finally:
        served.stop()
