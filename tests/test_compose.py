"""docker-compose.yml runs what the README says: PostgreSQL, init-db, two API replicas and two workers on the queue,
and every command it runs exists in the command line with the options it passes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer
import yaml

from api.cli import app

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def check_command(argv: list[str]) -> None:
    """Parse argv with the real command line (no command runs): unknown commands or options raise."""
    assert argv[0] == "tobacco-alloc", argv
    command, args, ctx = typer.main.get_command(app), list(argv[1:]), None
    while hasattr(command, "commands"):  # a group: descend to the named command
        name = args.pop(0)
        assert name in command.commands, f"`{' '.join(argv)}`: no command {name!r}"
        ctx = command.context_class(command, info_name=command.name, parent=ctx)
        command = command.commands[name]
    command.make_context(command.name, args, parent=ctx)  # parses the options, runs nothing


def test_every_command_the_deployment_runs_exists():
    services = compose()["services"]
    built = {name: s for name, s in services.items() if "build" in s}
    assert set(built) == {"init-db", "api", "worker"}
    for service in built.values():
        check_command(service["command"])
    dockerfile_cmd = re.search(r'^CMD (\[.*\])$', (ROOT / "Dockerfile").read_text(), re.M).group(1)
    check_command(yaml.safe_load(dockerfile_cmd))
    for line in (ROOT / "docker-compose.yml").read_text().splitlines():
        if "tobacco-alloc" in line and line.lstrip().startswith("#"):  # the commands its comments suggest
            check_command(shlex.split(line.split("exec api ", 1)[1].split("(")[0]))


def test_two_apis_and_two_workers_share_the_queue_after_init_db():
    services = compose()["services"]
    assert services["init-db"]["command"] == ["tobacco-alloc", "init-db"]
    for name in ("api", "worker"):
        service = services[name]
        assert service["deploy"]["replicas"] == 2
        assert service["environment"]["RUNS_EXECUTOR"] == "queue"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["depends_on"]["init-db"]["condition"] == "service_completed_successfully"
    assert services["worker"]["command"][:2] == ["tobacco-alloc", "worker"]
    assert services["db"]["image"].startswith("postgres:")


def test_the_checker_refuses_what_the_command_line_lacks():
    import pytest

    for argv, word in ((["tobacco-alloc", "wrk"], "wrk"), (["tobacco-alloc", "worker", "--threads", "2"], "--threads"),
                       (["tobacco-alloc", "companies", "delete", "x"], "delete")):
        with pytest.raises(Exception, match=word):
            check_command(argv)
