"""Crashes part-way leave nothing half-done: a run killed or failing mid-write, an import cut off mid-way.

The work under test is stopped at its worst moment on purpose: after it has written rows inside its transaction
and before it commits (an injected exception, or a real SIGKILL of the process doing it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, update
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from models import orders_import, runs
from models.tables import Cycle
from models.tables_demand import Order, OrderLine, OrderVersion
from models.tables_runs import Allocation, AllocationRun
from models.users import Principal
from tests.conftest import SAMPLE, make_client
from tests.worlds.sample import committed_city, fill_cycle, sample_rows

ROOT = Path(__file__).resolve().parents[2]


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 180) -> None:
    """Until the child says it is at the moment to be killed (or dies trying)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"the child exited early with {proc.returncode}"
        assert time.monotonic() < deadline, "the child never reached the moment to be killed"
        time.sleep(0.05)


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def closed_cycle(committed_engine):
    """The sample city with one closed cycle (supply, caps, orders), committed."""
    headers = committed_city(committed_engine)
    client = make_client(committed_engine)
    r = client.post("/v1/cycles", json={"name": "2026-W47", "start_date": "2026-11-16", "end_date": "2026-11-22"},
                    headers=headers["admin"])
    cycle = r.json()["id"]
    fill_cycle(client, headers["admin"], cycle, (SAMPLE / "demand.csv").read_text(encoding="utf-8"))
    assert client.post(f"/v1/cycles/{cycle}/close", headers=headers["admin"]).status_code == 200
    return committed_engine, headers, int(cycle)


def queue_run(engine, cycle_id: int) -> int:
    """A queued run, committed, as the route leaves it for the worker."""
    with Session(engine, expire_on_commit=False) as s:
        c = s.get(Cycle, cycle_id)
        admin = Principal(user_id=1, company_id=c.company_id, role="admin", name="admin")
        run = runs.start_run(s, admin, cycle_id)
        s.commit()
        return run.id


def run_state(engine, run_id: int, cycle_id: int) -> tuple[str, int, str]:
    """Status, visible rows and cycle status, read on a plain connection (SQLite: not BEGIN IMMEDIATE, so a
    reader does not wait for the writer under test)."""
    plain = create_engine(url_of(engine))
    try:
        with Session(plain) as s:
            status = s.get(AllocationRun, run_id).status
            rows = s.execute(select(func.count()).select_from(Allocation).where(Allocation.run_id == run_id)).scalar()
            return status, rows, s.get(Cycle, cycle_id).status
    finally:
        plain.dispose()


# ---- runs ----------------------------------------------------------------------------------------------------

def patch_row_writes(module, after) -> None:
    """Make a run's row write (COPY of rendered CSV on PostgreSQL, bulk insert on SQLite) call `after(session, n)`
    once its n rows are written."""
    real_insert, real_copy = module.bulk_insert, module.copy_csv

    def insert_then(session, table, columns, rows):
        return after(session, real_insert(session, table, columns, rows))

    def copy_then(session, table, columns, chunks):
        n = 0

        def counted():
            nonlocal n
            for chunk in chunks:
                n += chunk.count(b"\n")
                yield chunk

        real_copy(session, table, columns, counted())
        return after(session, n)

    module.bulk_insert, module.copy_csv = insert_then, copy_then


def test_a_run_failing_after_writing_rows_leaves_none(closed_cycle, monkeypatch):
    engine, headers, cycle = closed_cycle
    run_id = queue_run(engine, cycle)
    written = []

    def fail(session, n):
        written.append(n)
        session.flush()
        raise RuntimeError("SELECT * FROM allocation -- the power went out after the rows were written")

    monkeypatch.setattr(runs, "bulk_insert", runs.bulk_insert)
    monkeypatch.setattr(runs, "copy_csv", runs.copy_csv)
    patch_row_writes(runs, fail)
    assert runs.execute_run(engine, run_id) == "failed"
    monkeypatch.undo()
    assert written and written[0] > 0, "the failure was not after the rows were written"
    assert run_state(engine, run_id, cycle) == ("failed", 0, "closed")
    with Session(engine) as s:
        error = s.get(AllocationRun, run_id).error
    assert "SELECT" not in error and "RuntimeError" in error
    client = make_client(engine)
    again = client.post(f"/v1/cycles/{cycle}/allocation-runs", headers=headers["admin"])
    assert again.status_code == 202, again.text
    new_run = int(again.json()["run_id"])
    assert run_state(engine, new_run, cycle) == ("succeeded", written[0], "closed")


WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from models import runs
    from models.db import make_engine

    url, run_id, marker = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    from tests.reliability.test_crashes import patch_row_writes

    def hang(session, n):
        session.flush()
        marker.write_text(str(n))
        time.sleep(300)
        return n

    patch_row_writes(runs, hang)
    runs.execute_run(make_engine(url), run_id)
""")


def test_a_worker_killed_mid_write_leaves_no_rows_and_its_expired_lease_frees_the_cycle(closed_cycle, tmp_path):
    engine, headers, cycle = closed_cycle
    run_id = queue_run(engine, cycle)
    marker = tmp_path / "written"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url_of(engine), str(run_id), str(marker)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(marker, proc)
        written = int(marker.read_text())
        assert written > 0
        assert run_state(engine, run_id, cycle) == ("running", 0, "closed"), "rows visible before the commit"
    finally:
        kill(proc)
    assert run_state(engine, run_id, cycle) == ("running", 0, "closed")
    client = make_client(engine)
    blocked = client.post(f"/v1/cycles/{cycle}/allocation-runs", headers=headers["admin"])
    assert blocked.status_code == 409 and blocked.json()["code"] == "run_in_progress"
    # the service starts again: starting fails nothing while the run's lease holds
    with TestClient(create_app(Settings(database_url="sqlite://", run_in_process=True), engine)):
        assert run_state(engine, run_id, cycle) == ("running", 0, "closed")
    # once the lease has expired (nobody renews it), a sweep marks the run failed and frees the cycle
    with Session(engine) as s:
        s.execute(update(AllocationRun).where(AllocationRun.id == run_id)
                  .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    with TestClient(create_app(Settings(database_url="sqlite://", run_in_process=True), engine)) as restarted:
        # the app's sweeper runs beside the requests, so its first sweep is awaited rather than assumed done
        deadline = time.monotonic() + 10
        while run_state(engine, run_id, cycle)[0] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run_state(engine, run_id, cycle) == ("failed", 0, "closed")
        r = restarted.post(f"/v1/cycles/{cycle}/allocation-runs", headers=headers["admin"])
        assert r.status_code == 202, r.text
        assert restarted.get(f"/v1/allocation-runs/{run_id}", headers=headers["admin"]).json()["error"]
    assert run_state(engine, int(r.json()["run_id"]), cycle) == ("succeeded", written, "closed")


# ---- imports -------------------------------------------------------------------------------------------------

def order_state(engine, cycle_id: int) -> tuple[list, list, list]:
    """Every order, line and version of the cycle, to compare before and after."""
    with Session(engine) as s:
        return (s.execute(select(Order.retailer_id, Order.version, Order.total).where(Order.cycle_id == cycle_id)
                          .order_by(Order.retailer_id)).all(),
                s.execute(select(OrderLine.retailer_id, OrderLine.brand_code, OrderLine.quantity)
                          .where(OrderLine.cycle_id == cycle_id).order_by(OrderLine.retailer_id,
                                                                          OrderLine.brand_code)).all(),
                s.execute(select(OrderVersion.retailer_id, OrderVersion.version)
                          .where(OrderVersion.cycle_id == cycle_id).order_by(OrderVersion.retailer_id,
                                                                             OrderVersion.version)).all())


@pytest.fixture
def open_cycle(committed_engine):
    """The sample city with an open cycle holding a first import of half the retailers, committed."""
    headers = committed_city(committed_engine)
    client = make_client(committed_engine)
    cycle = client.post("/v1/cycles", json={"name": "2026-W47", "start_date": "2026-11-16",
                                            "end_date": "2026-11-22"}, headers=headers["admin"]).json()["id"]
    demand = sample_rows("demand")
    retailers = sorted({r["retailer_id"] for r in demand})
    first = {r for r in retailers[: len(retailers) // 2]}
    head = "retailer_id,brand_code,quantity,channel\n"
    before = head + "".join(f"{r['retailer_id']},{r['brand_code']},{int(r['quantity']) + 1},{r['channel']}\n"
                            for r in demand if r["retailer_id"] in first)
    r = client.post(f"/v1/cycles/{cycle}/orders/import", content=before.encode(),
                    headers={**headers["admin"], "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    # the import under test replaces those orders and creates the other half
    full = (SAMPLE / "demand.csv").read_text(encoding="utf-8")
    return committed_engine, headers, int(cycle), full, len(retailers)


def patch_line_writes(module, after_half) -> None:
    """Make the import's line writes stop after half the lines: `after_half(session)` decides what happens then."""
    real_copy, real_bulk = module.copy_lines, module.bulk_insert

    def copy_half(session, cycle_id, company_id, lines):
        real_copy(session, cycle_id, company_id, lines.iloc[: len(lines) // 2])
        return after_half(session)

    def bulk_half(session, table, columns, rows):
        if table.name != "order_line":
            return real_bulk(session, table, columns, rows)
        rows = list(rows)
        real_bulk(session, table, columns, rows[: len(rows) // 2])
        return after_half(session)

    module.copy_lines, module.bulk_insert = copy_half, bulk_half


def test_an_import_failing_half_way_keeps_none_of_it(open_cycle, monkeypatch):
    engine, headers, cycle, full, retailers = open_cycle
    before = order_state(engine, cycle)

    def fail(session):
        session.flush()
        raise OSError("disk full while writing /srv/tobacco-alloc/pgdata")

    with monkeypatch.context() as m:
        m.setattr(orders_import, "copy_lines", orders_import.copy_lines)
        m.setattr(orders_import, "bulk_insert", orders_import.bulk_insert)
        patch_line_writes(orders_import, fail)
        r = make_client(engine).post(f"/v1/cycles/{cycle}/orders/import", content=full.encode(),
                                     headers={**headers["admin"], "Content-Type": "text/csv",
                                              "Idempotency-Key": "import-w47"})
    assert r.status_code == 500 and r.json()["code"] == "internal_error" and "srv" not in r.text
    assert order_state(engine, cycle) == before, "part of the failed import was kept"
    retry = make_client(engine).post(f"/v1/cycles/{cycle}/orders/import", content=full.encode(),
                                     headers={**headers["admin"], "Content-Type": "text/csv",
                                              "Idempotency-Key": "import-w47"})
    assert retry.status_code == 200, retry.text
    assert retry.json()["orders"] == retailers and retry.json()["unchanged"] == 0
    orders, lines, _ = order_state(engine, cycle)
    assert len(orders) == retailers and len(lines) == len(sample_rows("demand"))


SERVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import uvicorn
    from api.app import create_app
    from api.settings import Settings
    from models import orders_import
    from tests.reliability.test_crashes import patch_line_writes

    url, port, marker = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])

    def hang(session):
        session.flush()
        marker.write_text("half")
        time.sleep(300)

    patch_line_writes(orders_import, hang)
    uvicorn.run(create_app(Settings(database_url=url)), host="127.0.0.1", port=port, log_level="warning")
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_killed_during_an_import_keeps_none_of_it(open_cycle, tmp_path):
    engine, headers, cycle, full, retailers = open_cycle
    before = order_state(engine, cycle)
    port, marker = free_port(), tmp_path / "half"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url_of(engine), str(port), str(marker)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    outcome = {}

    def send():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                outcome["r"] = httpx.post(f"http://127.0.0.1:{port}/v1/cycles/{cycle}/orders/import",
                                          content=full.encode(), timeout=120,
                                          headers={**headers["admin"], "Content-Type": "text/csv"})
                return
            except httpx.ConnectError:
                time.sleep(0.1)
            except httpx.HTTPError as exc:  # the server died under the request: what this test wants
                outcome["error"] = exc
                return

    sender = threading.Thread(target=send)
    sender.start()
    try:
        wait_for(marker, proc)
    finally:
        kill(proc)
        sender.join(60)
    assert not sender.is_alive() and isinstance(outcome.get("error"), httpx.HTTPError), outcome
    assert "r" not in outcome, "the import was acknowledged although its server was killed before committing"
    assert order_state(engine, cycle) == before, "part of the interrupted import was kept"
    retry = make_client(engine).post(f"/v1/cycles/{cycle}/orders/import", content=full.encode(),
                                     headers={**headers["admin"], "Content-Type": "text/csv"})
    assert retry.status_code == 200 and retry.json()["orders"] == retailers, retry.text
