"""The worker process that executes one allocation run (or scenario), so a long solve never stalls the API server.

Started as `python -m models.worker RUN_ID` (or `python -m models.worker scenario SCENARIO_KEY`) with
DATABASE_URL in its environment; exits 0 when it succeeded, 1 when it failed (its row says why), 2 on bad
arguments.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from models.db import database_url, make_engine

log = logging.getLogger("runs")


def spawn(run_id: int, url: str, kind: str = "run") -> subprocess.Popen:
    """Start the worker for one run (or scenario) in its own process group, and reap it when it ends."""
    env = {**os.environ, "DATABASE_URL": url}
    args = [str(run_id)] if kind == "run" else [kind, str(run_id)]
    proc = subprocess.Popen([sys.executable, "-m", "models.worker", *args], env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=proc.wait, name=f"reap-{kind}-{run_id}", daemon=True).start()
    return proc


def main(argv: list[str] | None = None) -> int:
    """Execute the run (or scenario) named on the command line against the configured database."""
    from models.runs import execute_run
    from models.scenarios import execute_scenario

    args = sys.argv[1:] if argv is None else argv
    execute = execute_run
    if len(args) == 2 and args[0] == "scenario":
        execute, args = execute_scenario, args[1:]
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m models.worker RUN_ID | python -m models.worker scenario SCENARIO_KEY", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    url = database_url()
    engine = make_engine(url, **({} if url.startswith("sqlite") else {"pool_size": 2}))
    try:
        status = execute(engine, int(args[0]))
    finally:
        engine.dispose()
    log.info("%s %s %s", execute.__name__, args[0], status)
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
