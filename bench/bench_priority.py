"""Volume first against choice first on the same cycles: what choice costs in time and volume, and what it buys.

    python -m bench.bench_priority [--shapes city,capped,province] [--repeat N]

Shapes: the generator's city and province (bench/instances.py, caps binding for a fifth of the retailers) and
`capped`, a city where half the retailers are capped below their order (60-95 % of it), as on the held-out
instance DOMAIN.md describes. Each priority runs `allocate` as the command does (read, validate, allocate,
certify, write the file) in a fresh process, so its time and peak memory are its own; the priorities
alternate and repeat, each time is the median of the repetitions and the time ratio the median of the paired
ratios (choice run i against volume run i). Volume is the baseline measured in the same run.

Figures per priority: seconds (read to published file; solve = the engine's build and flows, certify), peak
memory, volume, volume_policy_max and volume_cost, lines at zero among all lines and among short lines, those
lines split by reason (no_supply, cap, supply), and where choice's lost volume sits: on specs whose supply
covers their whole demand (stock that stays in the warehouse) or on short specs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.instances import SCALES, Shape, write_instance

OUT = Path(__file__).resolve().parent / "out"
SHAPES = {"city": SCALES["city"], "capped": Shape(retailers=30_000, capped_share=0.5), "province": SCALES["province"]}
REPEAT = {"city": 3, "capped": 3, "province": 1}
PRIORITIES = ("volume", "choice")


def run_priority(priority: str, folder: Path) -> dict:
    """One whole `allocate` in this process; its times, peak memory, certificate and the lines at zero by reason."""
    import numpy as np

    import allocation.flow  # noqa: F401  (as `tobacco-alloc allocate` loads it when it starts)
    from allocation.certificate import REASONS
    from allocation.files import read_inputs
    from allocation.pipeline import allocate_to_file
    from allocation.problem import Problem

    t0 = time.perf_counter()
    problem = Problem.from_frames(*read_inputs(folder / "demand.csv", folder / "supply.csv", folder / "caps.csv"))
    result = allocate_to_file(problem, folder / f"allocations-{priority}.csv", priority=priority)
    whole = time.perf_counter() - t0
    cert = result.certificate.as_json()
    x, d = result.allocated, problem.line_demand
    zero = x == 0
    by_spec = np.bincount(problem.line_spec, weights=x, minlength=len(problem.supply)).astype(np.int64)
    ample = np.bincount(problem.line_spec, weights=d, minlength=len(problem.supply)) <= problem.supply
    return {
        "priority": priority, "whole": whole, "solve": result.timings.build + result.timings.solve,
        "certify": result.timings.certify, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{k: cert[k] for k in ("volume", "volume_policy_max", "volume_cost", "fairness_violations", "lines",
                                "short_lines", "short_lines_at_zero")},
        "zero_by_reason": dict(zip(REASONS, np.bincount(result.reasons[zero], minlength=len(REASONS)).tolist())),
        "by_spec": by_spec.tolist(), "ample": ample.tolist(),
        "steps": {k: {"volume": v["volume"], "max_volume": v["max_volume"], "violations": v["fairness_violations"]}
                  for k, v in cert.get("steps", {}).items()},
    }


def measure(priority: str, folder: Path) -> dict:
    """One priority in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-m", "bench.bench_priority", "--child", priority, "--dir", str(folder)],
                          capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"{priority} on {folder.name} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def typical(runs: list[dict]) -> dict:
    row = dict(runs[0])
    for key in ("whole", "solve", "certify", "peak_mb"):
        row[key] = statistics.median(r[key] for r in runs)
    return row


def report(name: str, shape: Shape, runs: dict[str, list[dict]], console) -> None:
    from rich.table import Table

    volume, choice = typical(runs["volume"]), typical(runs["choice"])
    pairs = [c["whole"] / v["whole"] for v, c in zip(runs["volume"], runs["choice"])]
    t = Table(title=f"{name}: {shape.retailers:,} retailers, {shape.specs} specs, {volume['lines']:,} lines, "
                    f"{shape.short_spec_share:.0%} of specs short, caps binding for {shape.capped_share:.0%}; "
                    f"medians of {len(pairs)} alternating runs", title_justify="left")
    for col in ("priority", "s (read to file)", "solve s", "certify s", "peak MB", "volume", "volume_cost",
                "lines at zero", "of all lines", "of short lines", "no_supply", "cap", "supply", "time vs volume"):
        t.add_column(col, justify="left" if col == "priority" else "right")
    for r in (volume, choice):
        z = r["zero_by_reason"]
        t.add_row(r["priority"], f"{r['whole']:.2f}", f"{r['solve']:.2f}", f"{r['certify']:.2f}",
                  f"{r['peak_mb']:,.0f}", f"{r['volume']:,} of {r['volume_policy_max']:,}", f"{r['volume_cost']:.2%}",
                  f"{r['short_lines_at_zero']:,}", f"{r['short_lines_at_zero'] / r['lines']:.2%}",
                  f"{r['short_lines_at_zero'] / max(r['short_lines'], 1):.1%} of {r['short_lines']:,}",
                  f"{z['no_supply']:,}", f"{z['cap']:,}", f"{z['supply']:,}",
                  "1.00x" if r is volume else f"{statistics.median(pairs):.2f}x")
    console.print(t)
    lost = [v - c for v, c in zip(volume["by_spec"], choice["by_spec"])]
    on_ample = sum(d for d, a in zip(lost, volume["ample"]) if a)
    total = volume["volume"] - choice["volume"]
    steps = ", ".join(f"{k} {s['volume']:,} of a maximal {s['max_volume']:,} ({s['violations']} violations)"
                      for k, s in choice["steps"].items())
    console.print(f"choice gives up {total:,} cartons: {on_ample:,} ({on_ample / max(total, 1):.0%}) on specs whose "
                  f"supply covers their demand (stock left in the warehouse), {total - on_ample:,} on short specs; "
                  f"its steps: {steps}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="city,capped,province")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=None, help="runs of each priority (default 3, province 1)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_priority(args.child, Path(args.dir))))
        return

    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 220)
    console.print(f"machine: {os.cpu_count()} cores, load average "
                  f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} at start; python {sys.version.split()[0]}")
    for name in (s.strip() for s in args.shapes.split(",") if s.strip()):
        folder = OUT / ("priority-capped" if name == "capped" else name)  # city and province share bench_allocation's
        write_instance(folder, SHAPES[name], args.seed)
        runs: dict[str, list[dict]] = {p: [] for p in PRIORITIES}
        for _ in range(args.repeat or REPEAT[name]):
            for p in PRIORITIES:
                runs[p].append(measure(p, folder))
        report(name, SHAPES[name], runs, console)


if __name__ == "__main__":
    main()
