"""`make bench`: every benchmark in one run, each printing its figures against a baseline measured alongside."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from rich.console import Console

# (module, arguments, what it measures); the PostgreSQL ones create and drop their own database
BENCHES = [
    ("bench.bench_allocation", ["--scale", "all"],
     "allocation engine vs naive split vs generic LP, and the shipped command vs a standalone pandas split "
     "(city, province; the generator's shape and a 900-spec Zipf shape)"),
    ("bench.bench_priority", [], "volume first against choice first: time, volume, volume_cost, lines at zero by reason"),
    ("bench.bench_load", [], "generating and loading a 30,000-retailer city into PostgreSQL"),
    ("bench.bench_caps", [], "cap policy, pure, 30,000 retailers"),
    ("bench.bench_caps_db", [], "caps compute through the database, 30,000 retailers"),
    ("bench.bench_orders", ["--workers", "2"], "order import and single-order PUTs at a fixed rate (PostgreSQL)"),
    ("bench.bench_runs", [], "a city allocation run end to end, and the distribution center's pull"),
    ("bench.bench_runs", ["--scale", "province"], "a province run through the service: close, run, publish, CSV export"),
    ("bench.bench_evening", [], "a provincial evening: 12 city companies' runs at once on the queue, 1 and 2 workers"),
    ("bench.bench_accuracy", [], "forecast accuracy for a quarter, 100 managers x 300 specs"),
    ("bench.bench_accuracy_db", [], "the same through the database"),
    ("bench.load_morning", [], "an ordering morning at a fixed arrival rate (PostgreSQL)"),
    ("bench.load_morning", ["--database", "sqlite", "--find-rate"], "the highest ordering-morning rate on SQLite"),
    ("bench.bench_supply_plan", [], "supply plan: the projection's backtest (WAPE) against naive and managers"),
    ("bench.bench_compliance", [], "compliance figures of a city cycle: compute vs plain pandas, read, HTTP"),
    ("bench.bench_scenarios", [], "a city scenario against a run of the same cycle; the supply plan over HTTP"),
    ("bench.bench_console", [], "every console page at city scale against its JSON route (PostgreSQL)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="module names (e.g. bench_allocation) to run")
    args = parser.parse_args()
    console = Console()
    console.rule(f"benchmarks on {os.cpu_count()} cores")
    failed = []
    for module, argv, what in BENCHES:
        if args.only and module.split(".")[-1] not in args.only:
            continue
        console.rule(f"{module}: {what}")
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", module, *argv])
        console.print(f"[dim]{module} took {time.perf_counter() - t0:.0f} s (exit {code})[/dim]")
        if code:
            failed.append(module)
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/red]")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
