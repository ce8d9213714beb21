"""The one entry to the engine: a validated problem in, a certified `Result` out, for the CLI, files and runs alike.

solve -> reasons -> certificate, with one clock. A caller that writes the rows somewhere (the file
pipeline) passes a `Sink`: its preparation runs beside the solve and its writing beside the certificate,
on the second core, and it is kept only once the certificate passes; any failure discards it.
numpy releases the interpreter lock in the array work both threads do; OR-Tools' solve holds it, which
only pauses the helper.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np
import pandas as pd

from allocation.certificate import REASONS, Certificate, Proof, certify, reasons, require_passing
from allocation.choice import ChoiceCertificate, ChoiceFirst
from allocation.files import AllocationsFile
from allocation.problem import Problem
from allocation.solver import GraphStats, Solution
from allocation.vocabulary import Priority


@dataclass(frozen=True)
class Timings:
    """Seconds per step. build is the graph's construction and decoding around the flow; solve is the flow
    itself; certify runs beside writing where there is a sink; total is validation plus the engine's wall time."""

    validate: float = 0.0
    build: float = 0.0
    solve: float = 0.0
    certify: float = 0.0
    write: float = 0.0
    total: float = 0.0

    def as_json(self) -> dict:
        """As a run stores them: `<step>_s`, to the millisecond, like the run's own timings."""
        return {f"{k}_s": round(v, 3) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Result:
    """One allocation: cartons and reason codes per line in the problem's canonical order, its certificate
    (None only for a baseline run without one), the size of the graph solved and where the time went."""

    problem: Problem = field(repr=False)
    allocated: np.ndarray = field(repr=False)
    reasons: np.ndarray = field(repr=False)
    certificate: Certificate | ChoiceCertificate | None
    graph: GraphStats
    timings: Timings

    @cached_property
    def allocations(self) -> pd.DataFrame:
        """The rows as written; ids as categoricals over the sorted ids, so millions of rows stay light."""
        p = self.problem
        return pd.DataFrame({
            "retailer_id": pd.Categorical.from_codes(p.line_retailer, categories=pd.Index(p.retailer_ids)),
            "brand_code": pd.Categorical.from_codes(p.line_spec, categories=pd.Index(p.brand_codes)),
            "demanded": p.line_demand,
            "allocated": self.allocated,
            "reason": pd.Categorical.from_codes(self.reasons, categories=list(REASONS)),
        })

    def csv_chunks(self, lead: str | None = None) -> Iterator[bytes]:
        """The rows as CSV bytes (retailer_id, brand_code, demanded, allocated, reason, after `lead` if given),
        a chunk at a time: how a database's bulk load takes millions of rows without a Python object per cell."""
        p = self.problem
        rows = AllocationsFile(p.line_retailer, p.retailer_ids, p.line_spec, p.brand_codes, p.line_demand,
                               REASONS, lead)
        return rows.chunks(self.allocated, self.reasons)


class Sink(Protocol):
    """Where the rows go: prepared while the solve runs, written while the certificate checks, then kept (or discarded)."""

    def prepare(self) -> None: ...
    def write(self, allocated: np.ndarray, reason_codes: np.ndarray) -> None: ...
    def keep(self) -> None: ...
    def discard(self) -> None: ...


Solve = Callable[[Problem], Solution]
Check = Callable[[Problem, np.ndarray], Proof]


def _timed(check: Check, problem: Problem, x: np.ndarray) -> tuple[Proof, float]:
    t0 = time.perf_counter()
    return check(problem, x), time.perf_counter() - t0


def allocate(problem: Problem, sink: Sink | None = None, solve: Solve | None = None,
             check: Check | None = certify, priority: Priority | str = Priority.VOLUME) -> Result:
    """Allocate one cycle by its priority, certified by independent checks.

    `volume`: maximal volume, fair in both local senses. `choice`: orders above their caps cut evenly first,
    then refilled (allocation.choice), each step certified as a volume allocation of its own.
    Raises CertificateFailed rather than return (or let the sink keep) an allocation its certificate
    refuses. `solve` is the min-cost flow (allocation.solver.solve_lines) unless a baseline passes its own,
    with `check=None` to run without a certificate and without loading OR-Tools."""
    if solve is None:
        from allocation import solver  # looked up at call time, so OR-Tools loads only where a flow is solved

        solve = solver.solve_lines
    if Priority(priority) is Priority.CHOICE:
        plan = ChoiceFirst(solve)
        solve, check = plan.solve, plan.check
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="allocate") as helper:
            preparing = helper.submit(sink.prepare) if sink else None
            solution = solve(problem)
            x = solution.allocated
            solved = time.perf_counter()
            if preparing:
                preparing.result()
            checking = helper.submit(_timed, check, problem, x) if check else None
            codes = reasons(problem, x)
            if sink:
                sink.write(x, codes)
            written = time.perf_counter()
            cert, certify_s = checking.result() if checking else (None, 0.0)
        if cert is not None:
            require_passing(cert)
        if sink:
            sink.keep()
    except BaseException:
        if sink:
            sink.discard()
        raise
    validate = problem.stats.get("validate_seconds", 0.0)
    timings = Timings(validate=validate, build=solved - started - solution.flow_seconds,
                      solve=solution.flow_seconds, certify=certify_s, write=written - solved if sink else 0.0,
                      total=validate + time.perf_counter() - started)
    return Result(problem, x, codes, cert, solution.graph, timings)
