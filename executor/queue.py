"""RUNS_EXECUTOR=queue: jobs go through procrastinate on the service's own PostgreSQL; workers execute them.

The API defers a job in the transaction that creates its row (commit both or neither), with the cycle as the
job's `lock` (one job of a cycle executes at a time) and `queueing_lock` (one waits at a time). A worker
(`tobacco-alloc worker`) supervises each job in a thread of its own (executor.supervise), sends procrastinate's
heartbeats from its event loop, and sweeps lost jobs.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import procrastinate
from sqlalchemy.engine import make_url
from sqlmodel import Session

from executor.kinds import KINDS, Kind
from executor.settings import ExecutorSettings
from executor.supervise import ForkedChild, supervise
from executor.sweeper import QUEUE, sweep_forever
from models.errors import Conflict

log = logging.getLogger("executor")

# Tasks are declared on an app whose connector is never opened in the API (jobs are deferred on the request's
# own connection); the worker runs them through a copy with a pooled asynchronous connector.
queue_app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


class _Worker:
    engine = None
    settings: ExecutorSettings | None = None


@queue_app.task(name="execute_job", queue=QUEUE)
def execute_job(kind: str, job_id: int) -> str:
    """One job, supervised in this worker thread; the job's row (not the queue) records how it ended."""
    return supervise(KINDS[kind], job_id, _Worker.engine, _Worker.settings, role="worker", start=ForkedChild)


class QueueExecutor:
    """Defers jobs for the workers; the API process executes nothing itself."""

    def __init__(self, engine, settings: ExecutorSettings):
        if engine.dialect.name != "postgresql":
            raise ValueError("RUNS_EXECUTOR=queue needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...); "
                             "use RUNS_EXECUTOR=local with SQLite")
        self.engine, self.settings = engine, settings

    def submit(self, session: Session, kind: Kind, job_id: int, lock: str | None = None) -> None:
        raw = session.connection().connection.driver_connection
        try:
            with session.begin_nested():  # a refused job rolls back to here and leaves the request usable
                execute_job.configure(connection=raw, lock=lock, queueing_lock=lock).defer(kind=kind.name,
                                                                                           job_id=job_id)
        except procrastinate.exceptions.AlreadyEnqueued:
            raise Conflict(f"a job for {lock} is already waiting in the queue; wait for it to finish, then start "
                           "another", "run_in_progress") from None


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (procrastinate opens its own connections)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _work(url: str, engine, settings: ExecutorSettings, concurrency: int) -> None:
    # each running job holds one thread (its supervisor) while the event loop sends heartbeats
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=concurrency + 4))
    connector = procrastinate.PsycopgConnector(conninfo=libpq_url(url), min_size=1, max_size=4)
    app = queue_app.with_connector(connector)
    async with app.open_async():
        sweeper = asyncio.create_task(sweep_forever(engine, settings, app), name="sweep lost jobs")
        try:
            await app.run_worker_async(queues=[QUEUE], concurrency=concurrency, wait=True,
                                       name=f"{socket.gethostname()}", install_signal_handlers=True,
                                       update_heartbeat_interval=settings.runs_heartbeat_s,
                                       stalled_worker_timeout=settings.runs_stalled_s)
        finally:
            sweeper.cancel()


def run_worker(url: str, settings: ExecutorSettings, concurrency: int) -> None:
    """Execute queued jobs until SIGINT or SIGTERM (running jobs are finished first)."""
    from models.db import make_engine

    if make_url(url).get_backend_name() != "postgresql":
        raise ValueError("the worker needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...)")
    ForkedChild.warm()  # before taking any job
    _Worker.engine = make_engine(url, pool_size=concurrency + 2, max_overflow=2)
    _Worker.settings = settings
    try:
        asyncio.run(_work(url, _Worker.engine, settings, concurrency))
    finally:
        _Worker.engine.dispose()
