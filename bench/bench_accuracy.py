"""Times scoring a quarter of forecasts, against a plain-Python loop over cells measured in the same run,
so the ratio shows what vectorising buys whatever the machine.

Run: ``python -m bench.bench_accuracy [--managers 100 --specs 300 --cycles 13]``. Never asserts times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from allocation.accuracy import (
    BY_MANAGER_COLUMNS,
    BY_SPEC_COLUMNS,
    pooled,
    range_labels,
    score_cells,
    score_managers,
)
from allocation.accuracy_files import read_brands, read_quantities, write_files
from api.commands.accuracy import accuracy
from bench.common import best_of


def make_files(directory: Path, managers: int, specs: int, cycles: int, seed: int) -> dict[str, int]:
    """Writes a quarter of weekly forecasts and actuals shaped like a city: popular specs sell more,
    not every manager's retailers order every spec every week, forecasts miss by ±30 %."""
    rng = np.random.default_rng(seed)
    manager_ids = np.array([f"M{i:04d}" for i in range(1, managers + 1)])
    codes = np.array([f"{i:05d}" for i in range(1, specs + 1)])
    start = date(2025, 1, 6)
    periods = np.array([(start + timedelta(weeks=w)).isoformat() for w in range(cycles)])
    m, p, s = (a.ravel() for a in np.meshgrid(manager_ids, periods, codes, indexing="ij"))
    popularity = rng.lognormal(2.0, 1.0, specs)
    mean = np.tile(popularity, managers * cycles)
    actual = rng.poisson(mean)
    forecast = np.rint(mean * rng.uniform(0.7, 1.3, mean.size)).astype(np.int64)
    has_actual = rng.random(mean.size) < 0.8
    has_forecast = rng.random(mean.size) < 0.85
    cols = ["manager_id", "period", "brand_code", "quantity"]
    for name, keep, qty in [("actuals.csv", has_actual, actual), ("forecasts.csv", has_forecast, forecast)]:
        pd.DataFrame(dict(zip(cols, [m[keep], p[keep], s[keep], qty[keep]]))).to_csv(
            directory / name, index=False
        )
    brands = pd.DataFrame(
        {
            "brand_code": codes,
            "name": [f"spec {c}" for c in codes],
            "price_class": rng.integers(1, 6, specs),
            "wholesale_price": rng.integers(10, 500, specs),
            "is_key": (rng.random(specs) < 0.2).astype(int),
        }
    )
    brands.to_csv(directory / "brands.csv", index=False)
    return {"actual rows": int(has_actual.sum()), "forecast rows": int(has_forecast.sum())}


def _accuracy(error: float, actual: float, forecast: float) -> float:
    if actual > 0:
        return max(0.0, (actual - error) / actual)
    return 1.0 if forecast == 0 else 0.0


def naive_scores(forecasts: pd.DataFrame, actuals: pd.DataFrame, key: set[str], months: dict[str, str]):
    """The same figures by a dictionary loop over cells, the way one would write it without pandas."""
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in forecasts.itertuples(index=False):
        cells[(row.manager_id, row.period, row.brand_code)][0] += row.quantity
    for row in actuals.itertuples(index=False):
        cells[(row.manager_id, row.period, row.brand_code)][1] += row.quantity
    spec_rows = []
    cycle: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 8)
    for (m, p, b), (f, a) in sorted(cells.items()):
        spec_rows.append((m, p, b, f, a, _accuracy(abs(a - f), a, f)))
        acc = cycle[(m, p)]
        acc[0] += f
        acc[1] += a
        acc[2] += abs(a - f)
        if b in key:
            acc[3] += f
            acc[4] += a
            acc[5] += abs(a - f)
            acc[6] += 1

    def figures(groups: dict) -> pd.DataFrame:
        rows = []
        for (m, p), (f, a, e, kf, ka, ke, kn, te, kte) in groups.items():
            rows.append(
                [
                    m,
                    p,
                    _accuracy(e, a, f),
                    _accuracy(te, a, f),
                    _accuracy(ke, ka, kf) if kn else float("nan"),
                    _accuracy(kte, ka, kf) if kn else float("nan"),
                    (f - a) / a if a > 0 else float("nan"),
                ]
            )
        by_period: dict[str, list] = defaultdict(list)
        for row in rows:
            by_period[row[1]].append(row)
        for period_rows in by_period.values():
            keyed = sorted(period_rows, key=lambda r: -round(r[2], 6))
            for i, row in enumerate(keyed):
                tied = i > 0 and round(row[2], 6) == round(keyed[i - 1][2], 6)
                row.append(keyed[i - 1][7] if tied else i + 1)
        rows.sort(key=lambda r: (r[1], r[7], r[0]))
        return pd.DataFrame(rows, columns=BY_MANAGER_COLUMNS)

    weekly = {k: [*v[:7], abs(v[1] - v[0]), abs(v[4] - v[3])] for k, v in cycle.items()}
    ranged: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 9)
    for (m, p), values in weekly.items():
        target = ranged[(m, months[p])]
        for i, v in enumerate(values):
            target[i] += v
    by_spec = pd.DataFrame(spec_rows, columns=BY_SPEC_COLUMNS)
    return by_spec, figures(weekly), figures(ranged)


def vectorised_scores(forecasts: pd.DataFrame, actuals: pd.DataFrame, key: pd.Series, months: dict[str, str]):
    """The project's path, as the command runs it."""
    by_spec = score_cells(forecasts, actuals)
    return by_spec, score_managers(by_spec, key), pooled(by_spec, key, months)


def main() -> None:
    """Prints the sizes, the times, the ratio to the naive loop and the core count."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--specs", type=int, default=300)
    parser.add_argument("--cycles", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20250106)
    args = parser.parse_args()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        sizes = make_files(d, args.managers, args.specs, args.cycles, args.seed)
        print(
            f"accuracy bench: {args.managers} managers x {args.specs} specs x {args.cycles} cycles "
            f"({args.managers * args.specs * args.cycles:,} cells; {sizes['forecast rows']:,} forecast rows, "
            f"{sizes['actual rows']:,} actual rows); cores: {os.cpu_count()} (usable {affinity})"
        )

        def read():
            brands = read_brands(d / "brands.csv")
            return (
                read_quantities(d / "forecasts.csv", brands["brand_code"]),
                read_quantities(d / "actuals.csv", brands["brand_code"]),
                brands,
            )

        t_read, (f, a, brands) = best_of(1, read)
        key = brands.set_index("brand_code")["is_key"]
        months = range_labels(pd.concat([f["period"], a["period"]]), "month")
        t_fast, ours = best_of(args.repeat, vectorised_scores, f, a, key, months)
        t_naive, theirs = best_of(1, naive_scores, f, a, set(key.index[key]), months)
        for mine, other in zip(ours, theirs, strict=True):
            pd.testing.assert_frame_equal(mine.reset_index(drop=True), other, check_dtype=False)
        t_write, _ = best_of(1, write_files, d / "out", dict(zip(["s.csv", "m.csv", "r.csv"], ours)))
        args_cli = (d / "forecasts.csv", d / "actuals.csv", d / "brands.csv", d / "cli", "month")
        with contextlib.redirect_stdout(io.StringIO()):
            t_cli, _ = best_of(1, accuracy, *args_cli)

    print(f"read + validate 3 files : {t_read:7.3f} s")
    print(f"score (cells, cycles, months; best of {args.repeat}) : {t_fast:7.3f} s")
    print(f"naive loop, same figures: {t_naive:7.3f} s  (results identical)")
    print(f"write 3 files           : {t_write:7.3f} s")
    print(f"whole command (--pool month): {t_cli:7.3f} s")
    print(f"ratio naive / ours (scoring): {t_naive / t_fast:6.1f}x")


if __name__ == "__main__":
    main()
