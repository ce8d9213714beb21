"""The worker process that executes one allocation run, so a long solve never stalls the API server.

Started as `python -m models.worker RUN_ID` with DATABASE_URL in its environment; exits 0 when the run
succeeded, 1 when it failed (the run row says why), 2 on bad arguments.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from allocation.vocabulary import RunState
from models.db import database_url, make_engine

log = logging.getLogger("runs")


def spawn(run_id: int, url: str) -> subprocess.Popen:
    """Start the worker for one run in its own process group, and reap it when it ends so no zombie stays."""
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.Popen([sys.executable, "-m", "models.worker", str(run_id)], env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=proc.wait, name=f"reap-run-{run_id}", daemon=True).start()
    return proc


def main(argv: list[str] | None = None) -> int:
    """Execute the run named on the command line against the configured database."""
    from models.runs import execute_run

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m models.worker RUN_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    url = database_url()
    engine = make_engine(url, **({} if url.startswith("sqlite") else {"pool_size": 2}))
    try:
        status = execute_run(engine, int(args[0]))
    finally:
        engine.dispose()
    log.info("allocation run %s %s", args[0], status)
    return 0 if status == RunState.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
