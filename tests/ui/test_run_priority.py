"""The console shows what a run put first, its volume cost and each step's proof (no browser needed)."""

from __future__ import annotations

import re

import pytest

from tests.worlds.runs import add_cycle, add_master
from tests.conftest import make_client


@pytest.fixture
def cycle_id(session, company) -> int:
    add_master(session, company.id)
    cycle = add_cycle(session, company.id)
    session.commit()
    return cycle.id


def signed_in(connection, token: str):
    ui = make_client(connection)
    form = ui.get("/ui/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    assert ui.post("/ui/sign-in", data={"token": token, "csrf": csrf}, follow_redirects=False).status_code == 303
    return ui


def test_a_choice_run_shows_its_priority_cost_and_steps(client, connection, auth, cycle_id):
    run_id = client.post(f"/v1/cycles/{cycle_id}/allocation-runs", headers=auth("admin"),
                         json={"priority": "choice"}).json()["run_id"]
    ui = signed_in(connection, auth("auditor")["Authorization"].split()[1])
    page = ui.get(f"/ui/runs/{run_id}?lang=en")
    assert page.status_code == 200, page.text[:300]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "choice first" in text and "1.58%" in text  # 38 of 2,400 cartons (tests/api/test_runs_priority.py)
    assert "Step “cut”: volume of a proved maximum; fairness violations 2,333 / 2,333; 0" in text
    assert "Step “refill”: volume of a proved maximum; fairness violations 29 / 29; 0" in text
    board = ui.get(f"/ui/cycles/{cycle_id}", headers={"Accept-Language": "zh-CN"})
    assert board.status_code == 200 and "选择优先" in board.text
