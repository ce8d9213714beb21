"""The operator's command line: schema, loading, users and tokens, against a real database file."""

from __future__ import annotations

import shutil

import pytest

from typer.testing import CliRunner

from api.cli import app
from tests.conftest import SAMPLE

runner = CliRunner()


def test_init_db_is_idempotent(db_env):
    for _ in range(2):
        result = runner.invoke(app, ["init-db"])
        assert result.exit_code == 0, result.output
        assert "newest revision" in result.output


def test_load_then_users_then_token_works(db_env):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    assert runner.invoke(app, ["init-db"]).exit_code == 0
    result = runner.invoke(app, ["load", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "retailers" in result.output
    result = runner.invoke(app, ["users", "create", "--role", "auditor", "--name", "audit-1"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) >= 40
    client = TestClient(create_app(Settings(database_url=db_env)))
    assert client.get("/v1/brands", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert runner.invoke(app, ["users", "revoke", "--name", "audit-1"]).exit_code == 0
    assert client.get("/v1/brands", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_users_create_refuses_unknown_role_and_manager(db_env):
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    bad_role = runner.invoke(app, ["users", "create", "--role", "boss"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    no_manager = runner.invoke(app, ["users", "create", "--role", "account_manager", "--manager-id", "NOPE"])
    assert no_manager.exit_code == 2 and "NOPE" in no_manager.output


def test_brackets_in_user_text_are_printed_as_written(db_env):
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    bad = runner.invoke(app, ["users", "create", "--role", "[/x]"])
    assert bad.exit_code == 2 and "unknown role '[/x]'" in bad.output
    made = runner.invoke(app, ["users", "create", "--role", "admin", "--name", "ops[/x]"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and "ops[/x]" in made.output  # the user exists and its token was not lost


def test_bad_load_exits_2_naming_file_line_column_and_loads_nothing(db_env, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("managers.csv", "retailers.csv", "brands.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    lines = (folder / "retailers.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("tier")] = "99"
    lines[3] = ",".join(row)
    (folder / "retailers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["load", str(folder)])
    assert result.exit_code == 2
    assert "retailers.csv, line 4, column tier" in result.output
    result = runner.invoke(app, ["users", "create", "--role", "account_manager", "--manager-id",
                                 lines[1].split(",")[header.index("manager_id")]])
    assert result.exit_code == 2, "managers.csv was valid but must not have been loaded either"


def test_demo_builds_a_published_cycle_and_working_tokens(db_env, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    result = runner.invoke(app, ["demo", "--retailers", "300", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    tokens = dict(line.split("=", 1) for line in (tmp_path / "demo" / "tokens.env").read_text().split())
    client = TestClient(create_app(Settings(database_url=db_env)))
    headers = {"Authorization": f"Bearer {tokens['ADMIN_TOKEN']}"}
    cycles = client.get("/v1/cycles", headers=headers).json()["items"]
    assert [c["status"] for c in cycles] == ["published"]
    run = client.get(f"/v1/allocation-runs/{cycles[0]['published_run_id']}", headers=headers).json()
    cert = run["certificate"]
    assert run["status"] == "succeeded" and cert["volume"] == cert["max_volume"] and cert["fairness_violations"] == 0
    dc = {"Authorization": f"Bearer {tokens['DISTRIBUTION_CENTER_TOKEN']}"}
    assert client.get(f"/v1/cycles/{cycles[0]['id']}/pick-list", headers=dc).status_code == 200
    # what auditors check beyond accuracy has something to show: collected orders, planted clusters, cap moves,
    # and a year of history behind the value per carton a year earlier
    auditor = {"Authorization": f"Bearer {tokens['AUDITOR_TOKEN']}"}
    company = client.get("/v1/compliance", params={"cycle_id": cycles[0]["id"], "limit": 1},
                         headers=auditor).json()["items"][0]
    assert company["manager_id"] is None and company["collected_approved"] > 0 and company["collected_left_out"] > 0
    assert company["orders_in_clusters"] >= 3 and company["cap_moves"] > 0
    assert company["value_per_carton_last_year"] is not None and company["value_per_carton_allocated"] is not None
    clusters = client.get("/v1/compliance/clusters", params={"cycle_id": cycles[0]["id"]}, headers=auditor).json()
    assert sum(c["size"] for c in clusters["items"]) == company["orders_in_clusters"]
    again = runner.invoke(app, ["demo", "--retailers", "300", "--out", str(tmp_path / "demo")])
    assert again.exit_code == 0, again.output   # make run twice: reloads, keeps the published cycle


@pytest.mark.parametrize("env, words", [
    ({"RUNS_EXECUTOR": "queue"}, "RUNS_EXECUTOR=queue needs PostgreSQL"),
    ({"RUNS_HEARTBEAT_S": "100"}, "RUNS_HEARTBEAT_S must be at most half of RUNS_LEASE_S"),
])
def test_serve_refuses_bad_settings_in_one_line(db_env, monkeypatch, env, words):
    from api.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output and "Value error" not in result.output
