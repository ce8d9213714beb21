"""Where jobs execute: allocation runs (and any other kind registered in executor.kinds), locally or on a queue.

Layers: allocation -> models -> executor -> api. The API only submits; a supervisor (a process of its own with
the local executor, a worker thread with the queue) claims the job's row with a lease, starts the job in a child
process and renews the lease while it runs; every API and worker process sweeps expired leases.
"""

from __future__ import annotations


def make_executor(settings, engine):
    """The executor the settings name: inline (tests), local (default) or queue (PostgreSQL)."""
    if getattr(settings, "run_in_process", False):
        from executor.local import InlineExecutor

        return InlineExecutor(engine, settings)
    if settings.runs_executor == "queue":
        from executor.queue import QueueExecutor

        return QueueExecutor(engine, settings)
    from executor.local import LocalExecutor

    return LocalExecutor(engine, settings)
