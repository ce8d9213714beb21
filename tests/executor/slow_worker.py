"""`tobacco-alloc` whose allocation runs execute tests/executor/slow_kind.py (slow on demand), for the queue tests.

Run as `python -m tests.executor.slow_worker worker --concurrency N`.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from executor.kinds import Kind, register
    from models.tables_runs import AllocationRun

    register(Kind("run", AllocationRun, "tests.executor.slow_kind:execute"))
    from api.cli import app

    app(sys.argv[1:])
