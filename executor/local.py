"""RUNS_EXECUTOR=local: the API host starts a supervisor process per job (the only choice on SQLite).

The supervisor (`python -m executor.local KIND JOB_ID`) runs in a session of its own, so an API process that
restarts leaves it, and its job, alone. A queued job carries a lease from the start, so a job whose supervisor
never started (the API died right after committing) is failed by the next sweep.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from sqlalchemy.engine import Engine
from sqlmodel import Session

from allocation.vocabulary import RunState
from executor.kinds import KINDS, Kind
from executor.settings import ExecutorSettings
from executor.supervise import execute_here, supervise, url_of
from models import leases
from models.db import after_commit, session_scope

log = logging.getLogger("executor")


def _fail_unstarted(engine, kind: Kind, job_id: int) -> None:
    try:
        with session_scope(engine) as session:
            leases.fail(session, kind.table, job_id, "it could not be started; start it again",
                        code=leases.EXECUTOR_LOST)
    except Exception:
        log.exception("could not mark %s %s failed", kind.name, job_id)


class LocalExecutor:
    """A supervisor process per job on this host, started once the submitting transaction has committed."""

    def __init__(self, engine: Engine, settings: ExecutorSettings):
        self.engine, self.settings = engine, settings

    def submit(self, session: Session, kind: Kind, job_id: int, lock: str | None = None) -> None:
        leases.hold_queued(session, kind.table, job_id, self.settings.runs_lease_s)
        after_commit(session, lambda: self._start(kind, job_id))

    def _start(self, kind: Kind, job_id: int) -> None:
        """Never raises: the request has already committed; a job that cannot start is failed at once."""
        try:
            env = {**os.environ, "DATABASE_URL": url_of(self.engine)}
            proc = subprocess.Popen([sys.executable, "-m", "executor.local", kind.name, str(job_id)], env=env,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            threading.Thread(target=proc.wait, name=f"reap-{kind.name}-{job_id}", daemon=True).start()
        except Exception:
            log.exception("could not start %s %s", kind.name, job_id)
            _fail_unstarted(self.engine, kind, job_id)


class InlineExecutor:
    """Executes a job in the submitting process right after its commit (tests, and `RUN_IN_PROCESS`)."""

    def __init__(self, engine, settings: ExecutorSettings):
        self.engine, self.settings = engine, settings

    def submit(self, session: Session, kind: Kind, job_id: int, lock: str | None = None) -> None:
        after_commit(session, lambda: self._execute(kind, job_id))

    def _execute(self, kind: Kind, job_id: int) -> None:
        try:
            execute_here(kind, job_id, self.engine, self.settings.runs_lease_s)
        except Exception:
            log.exception("could not execute %s %s", kind.name, job_id)
            _fail_unstarted(self.engine, kind, job_id)


def main(argv: list[str] | None = None) -> int:
    """The supervisor process of one job: exits 0 when it succeeded, 1 when it failed, 2 on bad arguments."""
    from models.db import small_engine

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in KINDS or not args[1].isdigit():
        print(f"usage: python -m executor.local {{{','.join(KINDS)}}} JOB_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    engine = small_engine()
    try:
        status = supervise(KINDS[args[0]], int(args[1]), engine, ExecutorSettings(), role="local")
    finally:
        engine.dispose()
    return 0 if status == RunState.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
