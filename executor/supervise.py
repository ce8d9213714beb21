"""One job's supervision: claim its row with a lease, execute it in a child process, renew the lease meanwhile.

The supervising thread only waits and renews, so it keeps the lease (and, in a queue worker, the worker's
heartbeat) alive however long the child holds its interpreter lock. A job whose lease is lost (failed by a
sweep after a long database outage) has its child killed; a child that finished its job is left to tidy up
(within one lease); a child that dies without a word fails its row.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from allocation.vocabulary import RunState
from executor.child import PARENT_ENV
from executor.child import forked as child_forked
from executor.kinds import KINDS, Kind
from executor.settings import ExecutorSettings
from models import leases
from models.db import session_scope

log = logging.getLogger("executor")


def url_of(engine) -> str:
    """The database a child process must open: this engine's, password included."""
    engine = engine if isinstance(engine, Engine) else engine.engine
    return engine.url.render_as_string(hide_password=False)


def job_status(engine, kind: Kind, job_id: int) -> str:
    with session_scope(engine) as session:
        row = session.get(kind.table, job_id, populate_existing=True)
        return row.status if row is not None else "missing"


def start_child(kind: Kind, job_id: int, owner: str, url: str) -> subprocess.Popen:
    """A fresh interpreter for the job (it loads the engine's modules itself: about a second and a half)."""
    env = {**os.environ, "DATABASE_URL": url, PARENT_ENV: str(os.getpid())}
    return subprocess.Popen([sys.executable, "-m", "executor.child", kind.execute, str(job_id), owner], env=env,
                            stdin=subprocess.DEVNULL)


class ForkedChild:
    """A job forked by multiprocessing's fork server, which loaded the engine's modules once for every job."""

    PRELOAD = ["models.runs", "models.orders", "allocation.engine", "allocation.flow", "allocation.problem"]
    _warm = False

    @classmethod
    def warm(cls) -> None:
        """Start the fork server and load the engine in it now, before any job: no lease waits for it."""
        import multiprocessing

        if cls._warm:
            return
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(cls.PRELOAD + [k.execute.split(":")[0] for k in KINDS.values()])
        probe = ctx.Process(target=int)  # the first fork waits until the server has loaded every module
        probe.start()
        probe.join()
        cls._warm = True

    def __init__(self, kind: Kind, job_id: int, owner: str, url: str):
        import multiprocessing

        self.warm()
        self.proc = multiprocessing.get_context("forkserver").Process(
            target=child_forked, args=(kind.execute, job_id, owner, url), name=f"{kind.name}-{job_id}")
        self.proc.start()

    def wait(self, timeout: float | None = None) -> int:
        self.proc.join(timeout)
        if self.proc.exitcode is None:
            raise subprocess.TimeoutExpired(self.proc.name, timeout)
        return self.proc.exitcode

    def poll(self) -> int | None:
        return self.proc.exitcode

    def kill(self) -> None:
        self.proc.kill()


def supervise(kind: Kind, job_id: int, engine, settings: ExecutorSettings, role: str,
              start: Callable = start_child) -> str:
    """Execute one queued job to its end under a renewed lease; returns its final status.

    start(kind, job_id, owner, url) starts the child: a fresh interpreter (start_child) or a fork of a server
    that has the engine loaded already (ForkedChild, for workers that execute job after job).
    """
    owner = leases.owner_name(role)
    with session_scope(engine) as session:
        if not leases.claim(session, kind.table, job_id, owner, settings.runs_lease_s):
            return job_status(engine, kind, job_id)  # executed or failed already: nothing to do
    try:
        child = start(kind, job_id, owner, url_of(engine))
    except OSError as exc:
        _fail(engine, kind, job_id, owner, f"its process could not be started ({exc.strerror}); start it again")
        return RunState.FAILED
    code = _wait_renewing(child, kind, job_id, owner, engine, settings)
    _fail(engine, kind, job_id, owner, f"its process ended without finishing it (exit status {code}); nothing was "
                                       "written; start it again")
    return job_status(engine, kind, job_id)


def _wait_renewing(child, kind: Kind, job_id: int, owner: str, engine,
                   settings: ExecutorSettings) -> int:
    while True:
        try:
            return child.wait(timeout=settings.runs_heartbeat_s)
        except subprocess.TimeoutExpired:
            pass
        try:
            with session_scope(engine) as session:
                held = leases.renew(session, kind.table, job_id, owner, settings.runs_lease_s)
        except SQLAlchemyError:  # the database is away: keep trying while the lease may still hold
            log.warning("could not renew the lease of %s %s", kind.name, job_id, exc_info=True)
            continue
        if held or child.poll() is not None:
            continue
        with session_scope(engine) as session:
            lost = leases.was_lost(session, kind.table, job_id)
        if not lost:  # the child finished the job and is tidying up (statistics after its write): let it end
            try:
                return child.wait(timeout=settings.runs_lease_s)
            except subprocess.TimeoutExpired:
                log.warning("%s %s finished, but its process did not end within %ss; stopping it", kind.name,
                            job_id, settings.runs_lease_s)
        else:
            log.warning("%s %s lost its lease; stopping its process", kind.name, job_id)
        child.kill()
        return child.wait()


def _fail(engine, kind: Kind, job_id: int, owner: str, error: str) -> None:
    """Fail the row if it is still running under this owner (its child died or never started)."""
    try:
        with session_scope(engine) as session:
            if leases.fail(session, kind.table, job_id, error, code=leases.EXECUTOR_LOST, owner=owner):
                log.warning("%s %s failed: %s", kind.name, job_id, error)
    except SQLAlchemyError:  # its lease will expire and a sweep will fail it
        log.exception("could not mark %s %s failed", kind.name, job_id)


def execute_here(kind: Kind, job_id: int, engine, lease_s: float) -> str:
    """Claim and execute a job in this very process (tests and the demo: nothing else runs meanwhile)."""
    owner = leases.owner_name("inline")
    with session_scope(engine) as session:
        leases.claim(session, kind.table, job_id, owner, lease_s)
    module, name = kind.execute.split(":", 1)
    return getattr(importlib.import_module(module), name)(engine, job_id, owner)
