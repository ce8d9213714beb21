"""The kinds of job the executor runs: each names its leased table and the function its child process calls.

To add a kind (a scenario, say): give its table the `models.leases.Leased` columns (plus id, status, started_at,
finished_at, error), write `execute(bind, job_id, owner) -> final status` in models/ that works only while
`leases.holds(...)` is true when it writes, `register(Kind(...))` below, and submit rows with
`app.state.executor.submit(session, KIND, row.id, lock=...)` after creating them queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.tables_runs import AllocationRun
from models.tables_scenarios import Scenario


@dataclass(frozen=True)
class Kind:
    name: str       # stored in queue jobs: keep it stable
    table: type     # the leased row (status queued -> running -> succeeded or failed)
    execute: str    # "module:function" the child process calls with (bind, job_id, owner)


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


RUN = register(Kind("run", AllocationRun, "models.runs:execute_claimed"))
SCENARIO = register(Kind("scenario", Scenario, "models.scenarios:execute_claimed"))
