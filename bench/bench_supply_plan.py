"""Backtests the supply plan's projection on the generator's history: WAPE pooled over (manager, spec, week)
cells of the plan's method (the mean of the last N weeks) against "same as last week", the managers' own
forecasts for those weeks, and the other simple methods it was chosen over.

Run: ``python -m bench.bench_supply_plan [--scale city --weeks 26 --window 8]``. Never asserts anything: it
prints the figures the README quotes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.table import Table

from allocation.projection import backtest
from bench.common import console, usable_cores
from fixtures.city import generate_city
from fixtures.cycle import manager_week_demand, past_forecasts

NAMES = {"mean": "mean of the last N weeks (the plan's method)", "same_as_last_week": "same as last week (naive)",
         "managers_forecasts": "the managers' own forecasts", "median": "median of the last N weeks",
         "trimmed_mean": "mean without the highest and lowest week",
         "exponential_smoothing_0.3": "exponential smoothing, alpha 0.3"}


def forecast_series(city, seed: int) -> np.ndarray:
    """The managers' past forecasts as a (managers × specs, weeks) array aligned with manager_week_demand."""
    _, managers, specs = manager_week_demand(city)
    fc = past_forecasts(city, seed=seed)
    rows = managers.get_indexer(fc["manager_id"]) * len(specs) + specs.get_indexer(fc["brand_code"])
    weeks = {p: i for i, p in enumerate(city.periods)}
    out = np.zeros((len(managers) * len(specs), len(city.periods)), dtype=np.int64)
    out[rows, fc["period"].map(weeks).to_numpy()] = fc["quantity"].to_numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="city")
    parser.add_argument("--weeks", type=int, default=26, help="weeks of generated history")
    parser.add_argument("--window", type=int, default=8, help="N: weeks a projection looks back (policy default)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    t0 = time.perf_counter()
    city = generate_city(args.scale, seed=args.seed, weeks=args.weeks)
    series, managers, specs = manager_week_demand(city)
    forecasts = forecast_series(city, args.seed)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = backtest(series, args.window, forecasts)
    scored = time.perf_counter() - t0
    targets = args.weeks - args.window
    cells = int(((series[:, args.window:] > 0) | (forecasts[:, args.window:] > 0)).sum())
    console.print(f"generated {args.scale}: {len(city.retailers):,} retailers, {len(managers)} managers, {len(specs)} "
                  f"specs; {args.weeks} weeks of history ({city.periods[0]} .. {city.periods[-1]}); window "
                  f"N = {args.window}; {targets} weeks backtested, {cells:,} (manager, spec, week) cells with "
                  f"demand or a forecast; {usable_cores()} cores; generated in {generated:.1f} s, scored in "
                  f"{scored:.2f} s")
    table = Table(title="projection backtest: WAPE = Σ|A − F| / ΣA pooled over (manager, spec, week)")
    table.add_column("method")
    table.add_column("WAPE", justify="right")
    table.add_column("vs same as last week", justify="right")
    naive = scores["same_as_last_week"]
    for name in ("mean", "same_as_last_week", "managers_forecasts", "median", "trimmed_mean",
                 "exponential_smoothing_0.3"):
        table.add_row(NAMES[name], f"{scores[name]:.4f}", f"{scores[name] / naive:.2f}×")
    console.print(table)
    console.print("[dim]The generated managers forecast each week as what their retailers then ordered, times their "
                  "own bias and noise (sigma 0.08-0.45): their figure describes the generator, not real "
                  "managers.[/dim]")


if __name__ == "__main__":
    main()
