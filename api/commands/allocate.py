"""`tobacco-alloc allocate`: one allocation from files, no database, with its certificate on screen."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from allocation.files import read_inputs, release_unused_memory
from allocation.problem import Problem, ProblemError
from allocation.vocabulary import Priority, Reason

EXIT_BAD_INPUT = 2
EXIT_FAILED_CERTIFICATE = 3
EXIT_CANNOT_WRITE = 1


def _bad_input(console: Console, exc: ProblemError, paths: dict[str, Path]) -> None:
    for e in exc.errors:
        where = str(paths.get(e.get("input"), e.get("input", "input")))
        if e.get("line") is not None:
            where += f", line {e['line']}"
        if e.get("column"):
            where += f", column {e['column']}"
        console.print(f"{where}: {e['message']}", markup=False, highlight=False, soft_wrap=True)
    if exc.total > len(exc.errors):
        console.print(f"... and {exc.total - len(exc.errors)} more problems", markup=False, highlight=False)
    console.print("no allocation written", markup=False, highlight=False)


def _summary(run, zero_lines: int, out: Path, seconds: dict) -> Table:
    from allocation.certificate import REASONS

    cert = run.certificate
    counts = dict(zip(REASONS, np.bincount(run.reasons, minlength=len(REASONS)).tolist()))
    table = Table(title=f"allocation written to {out}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    shown = cert.as_json()
    table.add_row("priority", shown["priority"])
    table.add_row("volume (cartons)", f"{cert.volume:,} of {cert.demanded:,} demanded")
    table.add_row("maximal volume", f"{cert.max_volume:,} (proved by {cert.max_volume_proof})")
    table.add_row("volume cost", f"{shown['volume_cost']:.2%} of the volume priority's maximum")
    if "steps" in shown:
        for step, c in shown["steps"].items():
            table.add_row(f"  step {step}", f"{c['volume']:,} of a maximal {c['max_volume']:,}, "
                                            f"{c['fairness_violations']:,} fairness violations")
    table.add_row("fairness violations", f"{cert.fairness_violations:,}")
    table.add_row("lines", f"{cert.lines:,}" + (f" (and {zero_lines:,} of 0 cartons, left out)" if zero_lines else ""))
    for reason in Reason:
        table.add_row(f"  {reason}", f"{int(counts.get(reason, 0)):,}")
    table.add_row("short lines at zero", f"{cert.short_lines_at_zero:,}")
    table.add_row("timings (s)", "  ".join(f"{k} {v:.2f}" for k, v in seconds.items()))
    return table


def allocate(
    demand: Annotated[Path, typer.Option("--demand", help="demand CSV: retailer_id,brand_code,quantity")],
    supply: Annotated[Path, typer.Option("--supply", help="supply CSV: brand_code,quantity")],
    caps: Annotated[Path, typer.Option("--caps", help="caps CSV: retailer_id,cap[,weight]")],
    out: Annotated[Path, typer.Option("--out", help="allocations CSV to write (whole or not at all)")],
    priority: Annotated[Priority, typer.Option("--priority", help=(
        "volume: the most cartons; choice: orders above their caps cut evenly first, then refilled (DOMAIN.md "
        "'Volume first, or choice first'); the volume it gives up is shown as volume cost"))] = Priority.VOLUME,
) -> None:
    """One allocation from files: maximal volume, fair by fill ratio, certified; no database needed."""
    import allocation.flow  # noqa: F401  (the engine and OR-Tools load with the command, not inside the run)
    from allocation.pipeline import CertificateFailed, allocate_to_file

    err = Console(stderr=True)
    paths = {"demand": demand, "supply": supply, "caps": caps}
    if not out.parent.is_dir():
        err.print(f"{out}: the folder {out.parent} does not exist; no allocation written", markup=False,
                  highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    t0 = time.perf_counter()
    try:
        frames = read_inputs(demand, supply, caps)
        t1 = time.perf_counter()
        problem = Problem.from_frames(*frames)
        del frames  # the problem's arrays replace the frames: free them before the solve
        release_unused_memory()
    except ProblemError as exc:
        _bad_input(err, exc, paths)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    try:
        run = allocate_to_file(problem, out, priority=priority)
    except CertificateFailed as exc:
        err.print(f"the allocation failed its own certificate; nothing written: {exc.certificate.as_json()}",
                  markup=False)
        raise typer.Exit(EXIT_FAILED_CERTIFICATE) from None
    except OSError as exc:
        err.print(f"{out}: could not write the allocation ({exc.strerror or exc}); nothing written",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CANNOT_WRITE) from None
    steps = {k: v for k, v in asdict(run.timings).items() if k != "total"}
    seconds = {"read": t1 - t0, **steps, "total": time.perf_counter() - t0}
    Console().print(_summary(run, problem.zero_lines, out, seconds))
