"""Recovery: every API and worker process fails jobs whose lease expired; workers also fail stalled queue jobs.

Nothing here runs because a process started: a sweep acts only on expired leases and on queue jobs whose worker
sent no heartbeat for RUNS_STALLED_S, so a job is failed within max(lease, T) + RUNS_SWEEP_S of its executor's
death, whoever starts or stops meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from executor.kinds import KINDS
from executor.settings import ExecutorSettings
from models import leases
from models.db import session_scope

log = logging.getLogger("executor")
QUEUE = "jobs"
KEEP_FINISHED_JOBS_H = 24 * 7


def sweep_leases(engine) -> list[tuple[str, int]]:
    """Fail every active job whose lease has expired, of every kind; returns (kind, id) of those failed."""
    failed = []
    for kind in KINDS.values():
        with session_scope(engine) as session:
            ids = leases.fail_expired(session, kind.table)
        failed += [(kind.name, i) for i in ids]
    for name, job_id in failed:
        log.warning("%s %s failed: its lease expired (executor_lost)", name, job_id)
    return failed


def fail_job_row(engine, kind_name: str | None, job_id: int | None) -> bool:
    """Fail the row a lost queue job was executing or about to execute (its worker is gone)."""
    kind = KINDS.get(kind_name or "")
    if kind is None or job_id is None:
        return False
    with session_scope(engine) as session:
        return leases.fail(session, kind.table, job_id, leases.LOST, code=leases.EXECUTOR_LOST)


async def sweep_stalled(queue_app, engine, stalled_s: float) -> int:
    """Fail the queue's jobs whose worker stopped sending heartbeats, and their rows; returns how many."""
    from procrastinate.jobs import Status

    manager = queue_app.job_manager
    n = 0
    for job in await manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_s):
        kwargs = job.task_kwargs or {}
        await asyncio.to_thread(fail_job_row, engine, kwargs.get("kind"), kwargs.get("job_id"))
        try:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        except Exception:  # another worker's sweep finished it first
            log.debug("stalled job %s already finished", job.id, exc_info=True)
            continue
        log.warning("queue job %s (%s) stalled: its worker sent no heartbeat for %ss; failed", job.id, kwargs,
                    stalled_s)
        n += 1
    await manager.prune_stalled_workers(stalled_s)
    await manager.delete_old_jobs(KEEP_FINISHED_JOBS_H, queue=QUEUE, include_failed=True)
    return n


async def sweep_forever(engine, settings: ExecutorSettings, queue_app=None) -> None:
    """Sweep now and every RUNS_SWEEP_S until cancelled; a failed sweep is logged and tried again."""
    while True:
        try:
            await asyncio.to_thread(sweep_leases, engine)
            if queue_app is not None:
                await sweep_stalled(queue_app, engine, settings.runs_stalled_s)
        except Exception:
            log.exception("sweep for lost jobs failed; trying again in %ss", settings.runs_sweep_s)
        await asyncio.sleep(settings.runs_sweep_s)
