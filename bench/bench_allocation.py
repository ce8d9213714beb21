"""Ours against a spreadsheet's proportional split and a generic LP, side by side, in one run.

    python -m bench.bench_allocation [--scale city,city-zipf,province,province-zipf|both|all]

Each method runs the whole command (start, imports, read CSV, validate, allocate, write CSV, exit) in its
own process: "command s" is that process's wall time, what `time` shows a user; "in-process s" is the same
command from reading the first file to publishing the output, without interpreter start and imports.
Naive and ours run through the same reader, writer and pipeline; only
ours certifies, overlapped with writing. Each process reports its own peak memory (ru_maxrss) and CPU
seconds. Naive and ours alternate and repeat so both meet the same machine load; each time figure is the
median of the repetitions, and each ratio the median of the paired ratios (run i of ours against run i of
naive), with the ratio of the best runs beside it. Fairness figures come from the same certificate for
every method, computed after the timed command for the baselines. A second table puts the shipped command
beside a proportional split a user would write alone (bench/standalone.py: pandas only), each a process of its
own, wall time, CPU and peak memory from the kernel's accounting of that child. Two shapes: the generator's
(`city`, `province`) and a 900-spec Zipf shape with rows shuffled (`city-zipf`, `province-zipf`). Times are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
LP_LIMIT = {"city": 300.0, "city-zipf": 300.0, "province": 300.0, "province-zipf": 300.0}
REPEAT = {"city": 7, "city-zipf": 7, "province": 1, "province-zipf": 1}
SCALE_SETS = {"both": ("city", "province"), "all": ("city", "city-zipf", "province", "province-zipf")}


def run_method(method: str, folder: Path, lp_limit: float) -> dict:
    """One whole command in this process; returns its times, peak memory and certificate figures."""
    from allocation.baseline import lp_allocation, proportional_split
    from allocation.certificate import certify
    from allocation.files import read_inputs, release_unused_memory
    from allocation.pipeline import allocate_to_file
    from allocation.problem import Problem

    from allocation.solver import Solution

    if method == "ours":
        import allocation.flow  # noqa: F401  (as `tobacco-alloc allocate` does when it starts)

    out = folder / f"allocations-{method}.csv"
    t0, c0 = time.perf_counter(), time.process_time()
    problem = Problem.from_frames(*read_inputs(folder / "demand.csv", folder / "supply.csv", folder / "caps.csv"))
    release_unused_memory()  # as the command does once the frames are gone: Arrow's pool keeps what they held
    facts: dict = {"method": method}
    x, cert = None, None
    if method == "ours":
        run = allocate_to_file(problem, out)
        x, cert = run.allocated, run.certificate
        facts["solve"] = run.timings.build + run.timings.solve
        facts["certify"] = run.timings.certify
    else:
        # the baselines go through the same reader, writer and overlap, without a certificate
        if method == "lp":
            t1 = time.perf_counter()
            solution, lp = lp_allocation(problem, lp_limit)
            facts["lp_status"], facts["solve"] = lp["status"], time.perf_counter() - t1
            solve = None if solution is None else (lambda p: Solution(solution))
        else:
            solve = lambda p: Solution(proportional_split(p))  # noqa: E731
        if solve is not None:
            run = allocate_to_file(problem, out, solve=solve, check=None)
            x = run.allocated
            facts.setdefault("solve", run.timings.build)
    done = time.perf_counter()
    facts["whole"] = done - t0
    facts["cpu"] = time.process_time() - c0
    facts["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if method != "ours" and x is not None:
        cert = certify(problem, x)
    if x is not None:
        facts.update({k: getattr(cert, k) for k in ("volume", "max_volume", "fairness_violations", "feasible",
                                           "short_lines", "short_lines_at_zero", "largest_shortfall")})
    facts["after"] = time.perf_counter() - done  # figures for the baselines, not part of their command
    return facts


def timed_command(cmd: list[str]) -> dict:
    """Wall time, peak memory and CPU seconds of one command, from the kernel's accounting of that child alone."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if status:
            err.seek(0)
            raise RuntimeError(f"{cmd[1:3]} failed: {err.read().decode(errors='replace')[-500:]}")
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}


def real_command(folder: Path) -> dict:
    """The command as users run it, through its own entry point."""
    return timed_command([sys.executable, "-m", "api.cli", "allocate", "--demand", str(folder / "demand.csv"),
                          "--supply", str(folder / "supply.csv"), "--caps", str(folder / "caps.csv"),
                          "--out", str(folder / "allocations-command.csv")])


def standalone_command(folder: Path) -> dict:
    """The proportional split a user would write alone (bench/standalone.py: pandas only, nothing of ours)."""
    return timed_command([sys.executable, str(ROOT / "bench" / "standalone.py"), str(folder / "demand.csv"),
                          str(folder / "supply.csv"), str(folder / "caps.csv"), str(folder / "allocations-standalone.csv")])


def against_standalone(scale: str, shipped: list[dict], standalone: list[dict], ours: dict | None):
    """The shipped command against the standalone split: medians of the paired runs, wall and peak memory."""
    from rich.table import Table

    t = Table(title=f"{scale}: the shipped `tobacco-alloc allocate` against a standalone pandas proportional split "
                    f"(read_csv, floor per spec, trim to caps, to_csv), {len(shipped)} alternating pairs", title_justify="left")
    for col in ("command", "wall s", "cpu s", "peak MB", "wall vs standalone", "peak vs standalone"):
        t.add_column(col, justify="left" if col == "command" else "right")
    med = statistics.median
    for name, runs in (("standalone split", standalone), ("tobacco-alloc allocate", shipped)):
        pairs = list(zip(runs, standalone))
        best = min(a["wall"] for a in runs) / min(b["wall"] for b in standalone)
        t.add_row(name, f"{med(r['wall'] for r in runs):.2f}", f"{med(r['cpu'] for r in runs):.2f}",
                  f"{med(r['peak_mb'] for r in runs):,.0f}",
                  f"{med(a['wall'] / b['wall'] for a, b in pairs):.2f}x (best {best:.2f}x)",
                  f"{med(a['peak_mb'] / b['peak_mb'] for a, b in pairs):.2f}x")
    if ours:
        pairs = list(zip(ours.get("runs", [ours]), standalone))
        t.add_row("ours, the bench's own process", f"{ours['process']:.2f}", "-", f"{ours['peak_mb']:,.0f}",
                  f"{med(a['process'] / b['wall'] for a, b in pairs):.2f}x",
                  f"{med(a['peak_mb'] / b['peak_mb'] for a, b in pairs):.2f}x")
    return t


def measure(method: str, folder: Path, lp_limit: float, lp_memory_gb: float) -> dict:
    """Run one method in a fresh interpreter so its memory and time are its own."""
    cmd = [sys.executable, "-m", "bench.bench_allocation", "--child", method, "--dir", str(folder),
           "--lp-time-limit", str(lp_limit), "--lp-memory-gb", str(lp_memory_gb)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=lp_limit + 1800, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": method, "failed": f"exit {proc.returncode}: {tail}", "process": wall}
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    facts["process"] = wall - facts.pop("after", 0.0)
    return facts


TIMES = ("whole", "cpu", "process", "solve")


def typical(runs: list[dict]) -> dict:
    """The median repetition's figures, each time the median of its own (a neighbour's burst moves no median)."""
    ok = [r for r in runs if "failed" not in r]
    if not ok:
        return runs[-1]
    row = dict(sorted(ok, key=lambda r: r["whole"])[len(ok) // 2])
    for key in TIMES:
        row[key] = statistics.median(r[key] for r in ok)
        row[f"best_{key}"] = min(r[key] for r in ok)
    row["runs"] = ok
    return row


def ratio(row: dict, naive: dict | None, key: str) -> str:
    """Median of the paired ratios (repetition i of a method against repetition i of naive), and the best ratio."""
    if not naive:
        return "-"
    pairs = list(zip(row.get("runs", []), naive["runs"]))
    if len(pairs) < 2:
        return f"{row[key] / naive[key]:.2f}x"
    med = statistics.median(a[key] / b[key] for a, b in pairs)
    return f"{med:.2f}x (best {row[f'best_{key}'] / naive[f'best_{key}']:.2f}x)"


def table(scale: str, rows: list[dict], lp_limit: float, repeat: int, shape: str):
    from rich.table import Table

    naive = next((r for r in rows if r["method"] == "naive" and "failed" not in r), None)
    t = Table(title=f"{scale}: {shape}; medians of {repeat} alternating runs of naive and ours, LP once "
                    f"(time limit {lp_limit:.0f} s); ratios are medians of the paired runs", title_justify="left")
    for col in ("method", "command s", "in-process s", "cpu s", "solve s", "certify s", "peak MB", "volume", "of max",
                "short lines at zero", "largest shortfall", "violations", "command vs naive", "in-process vs naive"):
        t.add_column(col, justify="left" if col == "method" else "right")
    names = {"naive": "naive proportional split", "lp": "generic LP (HiGHS)", "ours": "ours (min-cost flow)"}
    for r in rows:
        if "failed" in r:
            t.add_row(names[r["method"]], f"{r['process']:.2f}", "failed", "", r["failed"][:60], *[""] * 9)
            continue
        done = "volume" in r
        status = r.get("lp_status", "optimal")
        t.add_row(
            names[r["method"]], f"{r['process']:.2f}", f"{r['whole']:.2f}", f"{r['cpu']:.2f}",
            f"{r['solve']:.2f}" + ("" if status == "optimal" else f" ({status})"),
            f"{r['certify']:.2f}" if "certify" in r else "-", f"{r['peak_mb']:,.0f}",
            f"{r['volume']:,}" if done else "not finished",
            f"{r['volume'] / r['max_volume']:.4%}" if done and r["max_volume"] else "-",
            f"{r['short_lines_at_zero']:,} of {r['short_lines']:,} ({r['short_lines_at_zero'] / max(r['short_lines'], 1):.1%})"
            if done else "-",
            f"{r['largest_shortfall']:,}" if done else "-",
            f"{r['fairness_violations']:,}" if done else "-",
            ratio(r, naive, "process"),
            ratio(r, naive, "whole"),
        )
    return t


def main(argv: list[str] | None = None) -> None:
    """Measure every method at the chosen scales and print one table per scale."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="all", help="city, city-zipf, province, province-zipf, both (the "
                        "generator's city and province) or all (default); several may be given, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="naive,lp,ours")
    parser.add_argument("--repeat", type=int, default=None, help="runs of naive and ours (default 7 city, 1 province)")
    parser.add_argument("--lp-time-limit", type=float, default=None,
                        help="seconds for the LP (default 300)")
    parser.add_argument("--lp-memory-gb", type=float, default=10.0,
                        help="address-space limit of the LP process, so a huge LP fails alone (default 10)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "lp" and args.lp_memory_gb:
            limit = int(args.lp_memory_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(run_method(args.child, Path(args.dir), args.lp_time_limit)))
        return

    from rich.console import Console

    from bench.instances import SCALES, write_instance

    console = Console(width=None if sys.stdout.isatty() else 200)
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    console.print(f"machine: {cores} cores ({usable} usable), load average "
                  f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} at start; python {sys.version.split()[0]}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    scales = [x for part in args.scale.split(",") for x in SCALE_SETS.get(part.strip(), (part.strip(),))]
    for scale in scales:
        folder = OUT / scale
        t0 = time.perf_counter()
        write_instance(folder, scale, args.seed)
        shape = SCALES[scale]
        lp_limit = args.lp_time_limit or LP_LIMIT[scale]
        repeat = args.repeat or REPEAT[scale]
        console.print(f"[{scale}] instance ready in {time.perf_counter() - t0:.1f} s: {folder}")
        runs: dict[str, list[dict]] = {m: [] for m in methods}
        real: list[dict] = []
        alone: list[dict] = []
        for _ in range(repeat):
            for m in (m for m in methods if m != "lp"):
                runs[m].append(measure(m, folder, lp_limit, args.lp_memory_gb))
            if "ours" in methods:
                alone.append(standalone_command(folder))
                real.append(real_command(folder))
        if "lp" in methods:
            runs["lp"].append(measure("lp", folder, lp_limit, args.lp_memory_gb))
        rows = [typical(runs[m]) for m in methods]
        desc = (f"{shape.retailers:,} retailers, {shape.specs} specs, ~{shape.lines_per_retailer:.0f} lines each, "
                f"{shape.short_spec_share:.0%} of specs short, "
                + (f"caps binding for {shape.capped_share:.0%}" if hasattr(shape, "capped_share") else
                   f"supply {shape.supply_of_demand[0]:.0%}-{shape.supply_of_demand[1]:.0%} of demand, caps "
                   f"{shape.cap_of_order[0]:.0%}-{shape.cap_of_order[1]:.0%} of each order, Zipf popularity, rows shuffled"))
        console.print(table(scale, rows, lp_limit, repeat, desc))
        if real:
            ours = next((r for r in rows if r["method"] == "ours" and "failed" not in r), None)
            console.print(against_standalone(scale, real, alone, ours))
        console.print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
