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
SEED = 20261206
EXAMPLES = 5
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
               "--workers", "1", "--no-color", "--request-timeout", "60"]
    for name, value in headers[role].items():
        command += ["--header", f"{name}: {value}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.reliability.conformance_hooks",
           "CONFORMANCE_WORLD": json.dumps(ids), "PYTHONPATH": str(ROOT)}
    try:
        with serving(app) as base:
            done = subprocess.run([*command, f"{base}/openapi.json"], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=900)
    finally:
        engine.dispose()
    report = done.stdout[-30000:] + done.stderr[-5000:]
    assert done.returncode == 0, f"schemathesis as {role or 'no token'} (seed {SEED}):\n{report}"
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert cases and int(cases[1]) > 1000 and cases[1] == cases[2], report  # it ran cases, and every one passed
