"""The OpenAPI schema says what the server does: `schemathesis --checks all`, as every role and without a token, 0 failures.

Each role gets a copy of one small world (the sample city with a cycle in every state, a published run, a scenario,
a cap adjustment, a forecast) served by uvicorn on the loopback, so the run of one role never sees what another
changed. Deterministic: a fixed seed, deterministic generation, at most EXAMPLES generated cases per operation in the
fuzzing phase (the coverage and examples phases are finite by construction), no example database (implied).
The hooks (conformance_hooks.py) aim two well-formed requests in three at the world's real ids, and exclude the
positive-data check only where a rule cannot be written in a schema; docs/api-conformance.md lists those cases.
The schema does not depend on the database, so this runs on SQLite only (docs/api-conformance.md says why).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from allocation.vocabulary import Role
from api.app import create_app
from api.settings import Settings
from models.db import make_engine
from models.load import load_dir
from models.migrate import upgrade
from models.users import get_or_create_company
from tests.conftest import SAMPLE, Tokens, make_client
from tests.server import serving
from tests.worlds.sample import build_world

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("CONFORMANCE_SEED", "20261206"))  # set it, and CONFORMANCE_EXAMPLES, to search harder
EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "5"))
PHASES = "examples,coverage,fuzzing"  # stateful needs links between operations; the world gives real ids instead


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The world's SQLite file, its ids by path parameter name, and a header set per role."""
    path = tmp_path_factory.mktemp("conformance") / "world.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        company = get_or_create_company(session, "conformance", "Conformance")
        load_dir(session, company.id, SAMPLE)
        session.commit()
        built = build_world(make_client(engine), Tokens(session, company.id))
    engine.dispose()
    ids = {"cycle_id": list(built.cycles.values()), "retailer_id": [built.own_retailer, built.other_retailer],
           "manager_id": [built.manager_id], "run_id": [built.run_id], "adjustment_id": [built.adjustment_id],
           "scenario_id": [built.scenario_id]}
    return path, ids, built.headers


@pytest.mark.parametrize("role", [*Role, None], ids=lambda r: r or "no-token")
def test_schemathesis_finds_nothing(world, role, tmp_path):
    source, ids, headers = world
    copy = tmp_path / "world.db"
    shutil.copyfile(source, copy)
    url = f"sqlite:///{copy}"
    engine = make_engine(url)
    app = create_app(Settings(database_url=url, run_in_process=True), engine)
    command = [sys.executable, "-m", "schemathesis.cli", "run", "--checks", "all", "--phases", PHASES,
               "--seed", str(SEED), "--generation-deterministic", "--max-examples", str(EXAMPLES),
               "--workers", "1", "--no-color", "--request-timeout", "60",
               "--suppress-health-check", "filter_too_much"]  # the forbidden operations' sampling filters on purpose
    for name, value in headers[role].items():
        command += ["--header", f"{name}: {value}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.reliability.conformance_hooks",
           "CONFORMANCE_WORLD": json.dumps(ids), "CONFORMANCE_ROLE": role or "", "PYTHONPATH": str(ROOT)}
    try:
        with serving(app) as base:
            done = subprocess.run([*command, f"{base}/openapi.json"], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=900)
    finally:
        engine.dispose()
    failures = done.stdout.partition("= FAILURES =")[2].partition("= WARNINGS =")[0]
    report = (failures[:40000] or done.stdout[-20000:]) + done.stdout.partition("= SUMMARY =")[2] + done.stderr[-5000:]
    assert done.returncode == 0, f"schemathesis as {role or 'no token'} (seed {SEED}):\n{report}"
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert cases and int(cases[1]) > 300 and cases[1] == cases[2], report  # it ran cases, and every one passed


def test_the_exclusions_relax_one_check_in_their_cases_only():
    """A refused well-formed request is forgiven only for a rule the schema cannot state; nothing else ever is."""
    from types import SimpleNamespace

    from schemathesis.openapi.checks import RejectedPositiveData, UndefinedStatusCode

    from tests.reliability.conformance_hooks import filter_failure

    def kept(status: int, code: str, query=None, body=None, failure=None, period=False, headers=None) -> bool:
        failure = failure or RejectedPositiveData(operation="GET /v1/x", message="refused", status_code=status,
                                                  allowed_statuses=["2xx"])
        raw = {"parameters": [{"name": "from", "in": "query"}] if period else []}
        case = SimpleNamespace(query=query or {}, body=body or {}, headers=headers or {},
                               operation=SimpleNamespace(definition=SimpleNamespace(raw=raw)))
        response = SimpleNamespace(status_code=status, content=json.dumps({"detail": "x", "code": code}).encode())
        return filter_failure(None, failure, case, response)

    assert not kept(422, "invalid_cursor", query={"cursor": "AAAA"})
    assert kept(422, "invalid_cursor")  # no cursor was sent: the refusal is the server's fault
    assert kept(500, "invalid_cursor", query={"cursor": "AAAA"})
    assert not kept(422, "invalid_request", query={"cycle_id": "1", "from": "2026-01-01"}, period=True)
    assert not kept(422, "invalid_request", period=True)  # no period at all
    assert kept(422, "invalid_request", query={"cycle_id": "1"}, period=True)  # a valid period refused
    assert kept(422, "invalid_request", query={"from": "2026-01-01", "to": "2026-02-01"}, period=True)
    assert kept(422, "invalid_request")  # an operation without a period
    assert not kept(422, "invalid_request", body={"start_date": "2026-02-01", "end_date": "2026-01-01"})
    assert kept(422, "invalid_request", body={"start_date": "2026-01-01", "end_date": "2026-01-07"})
    assert not kept(422, "invalid_request", body={"min_history_weeks": 13})  # above the default history_weeks 12
    assert kept(422, "invalid_request", body={"min_history_weeks": 12})
    assert not kept(412, "version_mismatch") and kept(412, "other")
    twice = [{"brand_code": "B1", "quantity": 1}, {"brand_code": "B1", "quantity": 2}]
    assert not kept(422, "duplicate_spec", body={"lines": twice})
    assert kept(422, "duplicate_spec", body={"lines": twice[:1]})
    assert not kept(422, "invalid_request", body={"moves": [{"from_retailer_id": "R1", "to_retailer_id": "R1"}]})
    assert kept(422, "invalid_request", body={"moves": [{"from_retailer_id": "R1", "to_retailer_id": "R2"}]})
    assert not kept(422, "unknown_spec") and kept(422, "unknown_cycle")
    assert not kept(422, "idempotency_key_reused", headers={"Idempotency-Key": "k"})
    assert kept(422, "idempotency_key_reused")  # no key was sent: the refusal is the server's fault
    assert kept(422, "invalid_idempotency_key", headers={"Idempotency-Key": "k"})
    undocumented = UndefinedStatusCode(operation="GET /v1/x", status_code=422, defined_status_codes=["200"],
                                       allowed_status_codes=[200], message="undocumented")
    assert kept(422, "invalid_cursor", query={"cursor": "AAAA"}, failure=undocumented)
