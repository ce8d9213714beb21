"""The child process that executes one claimed job, so a solve holding the interpreter lock for minutes never
stalls the process that renews the job's lease and sends the worker's heartbeats.

`python -m executor.child module:function JOB_ID OWNER` with DATABASE_URL in its environment; exits 0 when the
job succeeded, 1 when it failed (its row says why), 2 on bad arguments. It dies with the process that started it.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import sys

PARENT_ENV = "TOBACCO_ALLOC_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its supervisor dies, so a killed worker leaves no solve behind."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):  # it died before the request above took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or ":" not in args[0] or not args[1].isdigit():
        print("usage: python -m executor.child module:function JOB_ID OWNER", file=sys.stderr)
        return 2
    _die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from models.db import small_engine

    module, name = args[0].split(":", 1)
    execute = getattr(importlib.import_module(module), name)
    engine = small_engine()
    try:
        status = execute(engine, int(args[1]), args[2])
    finally:
        engine.dispose()
    logging.getLogger("executor").info("%s %s %s", args[0], args[1], status)
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
