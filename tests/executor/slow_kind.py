"""Allocation runs that hold the interpreter lock while they solve, the way a long province solve does, while a
file named after their cycle id exists in SLOW_DIR and for at least the seconds it says (a test decides which
runs are slow, and for how long). Executed by the children of tests/executor/slow_worker.py.
"""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path


def execute(bind, job_id: int, owner: str) -> str:
    from sqlmodel import Session

    from models import runs
    from models.tables_runs import AllocationRun

    with Session(bind) as session:
        marker = Path(os.environ["SLOW_DIR"]) / str(session.get(AllocationRun, job_id).cycle_id)

    def solve(snapshot):
        if marker.exists():
            least, start = int(marker.read_text()), time.monotonic()
            while marker.exists() or time.monotonic() - start < least:
                ctypes.PyDLL(None).sleep(1)  # libc's sleep, without releasing the GIL
        return runs._solve(snapshot)

    return runs.execute_claimed(bind, job_id, owner, solve)
