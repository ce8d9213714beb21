"""From a validated problem to a published allocations file on both cores, so proving the result costs no wall time.

The solve and the certificate are the work that a plain proportional split does not do. Each overlaps
writing, which every method needs: the three columns the input fixes render in a second thread while
the solve runs, and the certificate checks the allocation in that thread while the rows are completed
and written to a temporary file. The file is renamed onto its target only when the certificate passes,
so a failed proof, a full disk or any error leaves no output file. numpy releases the interpreter lock
in the array work both threads do; OR-Tools' solve holds it, which only pauses the renderer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from allocation.certificate import REASONS, CertificateFailed, certify, reasons, require_passing
from allocation.files import AllocationsFile, discard, publish
from allocation.problem import Problem


@dataclass(frozen=True)
class FileRun:
    """What one file run published: per-line cartons and reasons, the certificate, and where the time went."""

    allocated: np.ndarray = field(repr=False)
    reasons: np.ndarray = field(repr=False)
    certificate: dict | None
    timings: dict


def _timed(check: Callable[[Problem, np.ndarray], dict], problem: Problem, x: np.ndarray) -> tuple[dict, float]:
    t0 = time.perf_counter()
    return check(problem, x), time.perf_counter() - t0


def _render(problem: Problem) -> AllocationsFile:
    return AllocationsFile(problem.line_retailer, problem.retailer_ids, problem.line_spec, problem.brand_codes,
                           problem.line_demand, REASONS)


def allocate_to_file(problem: Problem, out: Path | str,
                     compute: Callable[[Problem, dict], np.ndarray] | None = None,
                     check: Callable[[Problem, np.ndarray], dict] | None = certify,
                     durable: bool = True) -> FileRun:
    """Compute, certify and publish one allocation; raises CertificateFailed (and writes nothing) if the check fails.

    `compute` is ours (allocation.solver.solve_lines) by default; a baseline passes its own and `check=None`
    to run through the same reader, writer and overlap without a certificate, and without loading OR-Tools."""
    if compute is None:
        from allocation.solver import solve_lines as compute
    started = time.perf_counter()
    stats: dict = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="allocate") as helper:
        rendering = helper.submit(_render, problem)
        x = compute(problem, stats)
        solved = time.perf_counter()
        writer = rendering.result()
        checking = helper.submit(_timed, check, problem, x) if check else None
        codes = reasons(problem, x)
        tmp = writer.write_temp(out, x, codes, durable)
        written = time.perf_counter()
        try:
            cert, certifying = checking.result() if checking else (None, 0.0)
        except BaseException:
            discard(tmp)
            raise
    if cert is not None:
        cert.update({k: v for k, v in stats.items() if k != "flow_seconds"})
        try:
            require_passing(cert)
        except CertificateFailed:
            discard(tmp)
            raise
    publish(tmp, out, durable)
    flow = stats.get("flow_seconds", 0.0)
    timings = {"validate": problem.stats.get("validate_seconds", 0.0),
               "build": solved - started - flow, "solve": flow,
               "certify": certifying, "write": written - solved,
               "total": time.perf_counter() - started + problem.stats.get("validate_seconds", 0.0)}
    return FileRun(allocated=x, reasons=codes, certificate=cert, timings=timings)
