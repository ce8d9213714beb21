"""Several city companies in one deployment from the command line: create them, then name one on every command."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from tests.conftest import SAMPLE

runner = CliRunner()


def ok(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    return result.output


def test_companies_are_created_checked_and_listed(db_env):
    ok("init-db")  # a fresh install has its one company, "default"
    assert "company 4301 (Changsha, Asia/Shanghai) created" in ok("companies", "create", "4301", "--name", "Changsha").output
    ok("companies", "create", "4303", "--name", "Xiangtan", "--timezone", "Asia/Urumqi")
    assert "exists already" in refused("companies", "create", "4301", "--name", "Again")
    assert "unknown time zone" in refused("companies", "create", "4304", "--name", "Z", "--timezone", "Mars/Olympus")
    assert "company code" in refused("companies", "create", "43 04", "--name", "Spaces")
    listed = ok("companies", "list").output.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["default", "4301", "4303"]
    assert "Asia/Urumqi" in listed[2]


def test_every_command_names_its_company_once_there_are_several(db_env):
    ok("init-db")
    ok("companies", "create", "north", "--name", "North city")
    assert "--company" in refused("load", str(SAMPLE))
    assert "--company" in refused("users", "create", "--role", "admin")
    assert "no company" in refused("load", str(SAMPLE), "--company", "nowhere")
    ok("load", str(SAMPLE), "--company", "north")
    north = ok("users", "create", "--role", "auditor", "--name", "aud", "--company", "north").stdout.split()[-1]
    default = ok("users", "create", "--role", "auditor", "--name", "aud", "--company", "default").stdout.split()[-1]
    client = TestClient(create_app(Settings(database_url=db_env)))
    seen = {name: client.get("/v1/retailers", params={"limit": 1000},
                             headers={"Authorization": f"Bearer {token}"}).json()["items"]
            for name, token in (("north", north), ("default", default))}
    assert len(seen["north"]) == sum(1 for _ in open(SAMPLE / "retailers.csv")) - 1 and seen["default"] == []
    ok("users", "revoke", "--name", "aud", "--company", "default")
    assert client.get("/v1/brands", headers={"Authorization": f"Bearer {default}"}).status_code == 401
    assert client.get("/v1/brands", headers={"Authorization": f"Bearer {north}"}).status_code == 200


def test_the_worker_needs_postgresql_and_sound_settings(db_env, monkeypatch):
    assert "PostgreSQL" in refused("worker")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("RUNS_HEARTBEAT_S", "40")  # more than half the default lease
    assert "RUNS_HEARTBEAT_S must be at most half" in refused("worker")
