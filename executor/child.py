"""The child process that executes one claimed job, so a solve holding the interpreter lock for minutes never
stalls the process that renews the job's lease and sends the worker's heartbeats.

Started either as `python -m executor.child module:function JOB_ID OWNER` (DATABASE_URL in its environment), or
forked by a queue worker's fork server, whose modules (pandas, OR-Tools, the engine) are loaded once: `execute`.
Exits 0 when the job succeeded, 1 when it failed (its row says why), 2 on bad arguments. It dies with its parent.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import sys

from allocation.vocabulary import RunState

PARENT_ENV = "TOBACCO_ALLOC_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies, so a killed worker leaves no solve behind."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request above took effect
        os._exit(1)


def execute(target: str, job_id: int, owner: str, url: str, parent: int | None = None) -> int:
    """Run `module:function`(engine, job_id, owner) against the database at url; the exit status of the job."""
    _die_with_parent(os.getppid() if parent is None else parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from models.db import small_engine

    module, name = target.split(":", 1)
    function = getattr(importlib.import_module(module), name)
    engine = small_engine(url)
    try:
        status = function(engine, job_id, owner)
    finally:
        engine.dispose()
    logging.getLogger("executor").info("%s %s %s", target, job_id, status)
    return 0 if status == RunState.SUCCEEDED else 1


def forked(target: str, job_id: int, owner: str, url: str) -> None:
    """The entry of a child forked by the fork server (multiprocessing sets the exit status from SystemExit)."""
    sys.exit(execute(target, job_id, owner, url))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or ":" not in args[0] or not args[1].isdigit():
        print("usage: python -m executor.child module:function JOB_ID OWNER", file=sys.stderr)
        return 2
    from models.db import database_url

    return execute(args[0], int(args[1]), args[2], database_url(), int(os.environ.get(PARENT_ENV, os.getppid())))


if __name__ == "__main__":
    sys.exit(main())
