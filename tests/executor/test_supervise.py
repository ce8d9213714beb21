"""The supervisor stops a child only when its job was lost: a child that finished its job may tidy up."""

from __future__ import annotations

import subprocess

from sqlalchemy import update

from executor.kinds import RUN
from executor.settings import ExecutorSettings
from executor.supervise import _wait_renewing
from models import leases
from models.db import session_scope
from models.tables_runs import AllocationRun
from tests.worlds.runs import add_cycle, add_master, queue_run

SETTINGS = ExecutorSettings(runs_heartbeat_s=0.01, runs_lease_s=30, runs_stalled_s=30, runs_sweep_s=1)


class FakeChild:
    """A child alive for `alive` heartbeat-long waits, then ending with status 0 unless killed first; a wait as
    long as a lease sees it end, unless it `hangs`."""

    def __init__(self, alive: int, on_wait=None, hangs: bool = False):
        self.alive, self.on_wait, self.hangs, self.killed, self.waits = alive, on_wait, hangs, False, 0

    def wait(self, timeout=None):
        self.waits += 1
        if self.on_wait is not None:
            self.on_wait(self.waits)
        if self.killed:
            return -9
        if self.hangs or (self.waits <= self.alive and (timeout or 0) < SETTINGS.runs_lease_s):
            raise subprocess.TimeoutExpired("child", timeout)
        self.waits = max(self.waits, self.alive + 1)
        return 0

    def poll(self):
        return -9 if self.killed else (None if self.waits <= self.alive else 0)

    def kill(self):
        self.killed = True


def _running_run(connection, company_id) -> int:
    with session_scope(connection) as session:
        add_master(session, company_id)
        run_id = queue_run(session, company_id, add_cycle(session, company_id).id)
        assert leases.claim(session, AllocationRun, run_id, "me", lease_s=30)
    return run_id


def _set(connection, run_id, **values):
    with session_scope(connection) as session:
        session.execute(update(AllocationRun).where(AllocationRun.id == run_id).values(**values))


def test_a_child_that_finished_its_run_is_left_to_end(connection, company):
    run_id = _running_run(connection, company.id)
    # the child commits its succeeded run on its second wait, then stays busy (its statistics) for three more
    child = FakeChild(alive=5, on_wait=lambda n: n == 2 and _set(connection, run_id, status="succeeded"))
    assert _wait_renewing(child, RUN, run_id, "me", connection, SETTINGS) == 0
    assert not child.killed


def test_a_finished_child_that_never_ends_is_stopped_after_a_lease(connection, company):
    run_id = _running_run(connection, company.id)
    child = FakeChild(alive=5, on_wait=lambda n: n == 2 and _set(connection, run_id, status="succeeded"), hangs=True)
    assert _wait_renewing(child, RUN, run_id, "me", connection, SETTINGS) == -9
    assert child.killed


def test_a_child_whose_run_was_failed_as_lost_is_stopped(connection, company):
    run_id = _running_run(connection, company.id)

    def lost(n):
        if n == 2:
            with session_scope(connection) as session:
                leases.fail(session, AllocationRun, run_id, leases.LOST, code=leases.EXECUTOR_LOST)

    child = FakeChild(alive=50, on_wait=lost)
    assert _wait_renewing(child, RUN, run_id, "me", connection, SETTINGS) == -9
    assert child.killed and child.waits < 50
