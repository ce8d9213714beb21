"""Forecast-accuracy figures auditors read, computed exactly as DOMAIN.md defines them, with no I/O.

Every figure is a function of one *sums* frame (columns ``forecast``, ``actual``, ``abs_error``,
``total_abs_error``), so a per-spec cell, a manager's cycle and a manager's pooled month all go
through the same arithmetic:

- ``abs_error`` is Σ|A − F| over the (cycle, spec) cells in the group (never netted);
- ``total_abs_error`` is Σ over cycles of |ΣA − ΣF| within the cycle (netted inside a cycle,
  never across cycles), so pooling a month does not let week 1's over-forecast cancel week 2's under.

For one cell both equal |A − F|; for one cycle ``total_abs_error`` is the cycle's |ΣA − ΣF|.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

KEYS = ["manager_id", "period", "brand_code"]
GROUP = ["manager_id", "period"]
SUMS = ["forecast", "actual", "abs_error", "total_abs_error", "rows"]
BY_SPEC_COLUMNS = [*KEYS, "forecast", "actual", "accuracy"]
FIGURES = [
    "single_brand_accuracy",
    "total_accuracy",
    "key_single_brand_accuracy",
    "key_total_accuracy",
    "bias",
]
BY_MANAGER_COLUMNS = [*GROUP, *FIGURES, "rank"]
RANK_DECIMALS = 6


def _ratio_accuracy(error: pd.Series, sums: pd.DataFrame) -> pd.Series:
    """Shares the clamp and the zero-actual rule by all accuracy figures so they cannot drift apart."""
    actual = sums["actual"].to_numpy(dtype="float64")
    forecast = sums["forecast"].to_numpy(dtype="float64")
    # (A − e)/A, not 1 − e/A: integers in, one correctly rounded division out, so 1/12 prints as
    # 0.08333333333333333 and equal fractions always give equal floats.
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.maximum(0.0, (actual - error.to_numpy(dtype="float64")) / actual)
    # ΣA = 0: perfect only if nothing was forecast (F >= 0, so every F = 0 <=> ΣF = 0).
    score = np.where(actual > 0, score, np.where(forecast == 0, 1.0, 0.0))
    return pd.Series(score, index=sums.index, dtype="float64")


def single_brand_accuracy(sums: pd.DataFrame) -> pd.Series:
    """1 − WAPE over specs: a forecast for a spec nobody ordered counts as error (单品牌)."""
    return _ratio_accuracy(sums["abs_error"], sums)


def total_accuracy(sums: pd.DataFrame) -> pd.Series:
    """Scores the volume forecast alone, specs netted within a cycle (总量)."""
    return _ratio_accuracy(sums["total_abs_error"], sums)


def bias(sums: pd.DataFrame) -> pd.Series:
    """Signed (ΣF − ΣA)/ΣA so auditors see who habitually over- or under-forecasts; empty if ΣA = 0."""
    actual = sums["actual"].to_numpy(dtype="float64")
    forecast = sums["forecast"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(actual > 0, (forecast - actual) / actual, np.nan)
    return pd.Series(value, index=sums.index, dtype="float64")


def _checked(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Refuses quantities that would make a score meaningless, since callers may pass raw data."""
    missing = [c for c in [*KEYS, "quantity"] if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
    quantity = pd.to_numeric(frame["quantity"], errors="coerce")
    if quantity.isna().any() or (quantity < 0).any() or (quantity != np.floor(quantity)).any():
        raise ValueError(f"{name}: quantities must be whole numbers >= 0")
    return frame[KEYS].assign(quantity=quantity.astype("int64"))


def score_cells(forecasts: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Pairs every forecast with its actual (missing side counts 0) and scores each spec.

    Rows repeating a key are summed, so actuals may be passed as one row per retailer's order line.
    """
    f = _checked(forecasts, "forecasts")
    a = _checked(actuals, "actuals")
    both = pd.concat(
        [
            f.rename(columns={"quantity": "forecast"}).assign(actual=0),
            a.rename(columns={"quantity": "actual"}).assign(forecast=0),
        ],
        ignore_index=True,
    )
    cells = both.groupby(KEYS, sort=True, observed=True)[["forecast", "actual"]].sum().reset_index()
    cells[["forecast", "actual"]] = cells[["forecast", "actual"]].astype("int64")
    error = (cells["actual"] - cells["forecast"]).abs()
    cells["accuracy"] = single_brand_accuracy(cells.assign(abs_error=error))
    return cells[BY_SPEC_COLUMNS]


def _key_codes(key_codes: Iterable[str] | pd.Series) -> list[str]:
    """Accepts a set of codes or a boolean Series indexed by brand_code (e.g. brands' is_key)."""
    if isinstance(key_codes, pd.Series) and pd.api.types.is_bool_dtype(key_codes.dtype):
        return [str(c) for c in key_codes.index[key_codes.to_numpy(dtype=bool)]]
    return [str(c) for c in key_codes]


def cycle_sums(by_spec: pd.DataFrame, key_codes: Iterable[str] | pd.Series) -> pd.DataFrame:
    """Reduces cells to per-(manager, cycle) sums, all specs and key specs, from which every figure follows."""
    cells = by_spec[[*KEYS, "forecast", "actual"]].copy()
    cells["abs_error"] = (cells["actual"] - cells["forecast"]).abs()
    cells["rows"] = 1
    key = cells["brand_code"].isin(_key_codes(key_codes)).to_numpy()
    parts = ["forecast", "actual", "abs_error", "rows"]
    for col in parts:
        cells["key_" + col] = np.where(key, cells[col], 0)
    sums = cells.groupby(GROUP, sort=True, observed=True)[parts + ["key_" + c for c in parts]].sum()
    sums["total_abs_error"] = (sums["actual"] - sums["forecast"]).abs()
    sums["key_total_abs_error"] = (sums["key_actual"] - sums["key_forecast"]).abs()
    return sums.astype("int64")


def _figures(sums: pd.DataFrame) -> pd.DataFrame:
    """Turns (manager, period) sums into the by_manager figures; key figures empty without key rows."""
    key = sums[["key_" + c for c in SUMS]].set_axis(SUMS, axis=1)
    no_key = (key["rows"] == 0).to_numpy()
    out = pd.DataFrame(
        {
            "single_brand_accuracy": single_brand_accuracy(sums),
            "total_accuracy": total_accuracy(sums),
            "key_single_brand_accuracy": single_brand_accuracy(key).mask(no_key),
            "key_total_accuracy": total_accuracy(key).mask(no_key),
            "bias": bias(sums),
        },
        index=sums.index,
    ).reset_index()
    out["rank"] = rank(out)
    return out.sort_values(["period", "rank", "manager_id"], kind="stable").reset_index(drop=True)[
        BY_MANAGER_COLUMNS
    ]


def rank(scores: pd.DataFrame, by: str = "single_brand_accuracy", within: str = "period") -> pd.Series:
    """Ranks managers so that differences below 1e-6 never reorder them: 1 is best, ties share the
    smaller number (1, 1, 3), empty scores come last."""
    if scores.empty:
        return pd.Series([], index=scores.index, dtype="int64")
    rounded = scores[by].astype("float64").round(RANK_DECIMALS)
    ranks = rounded.groupby(scores[within], sort=False).rank(
        method="min", ascending=False, na_option="bottom"
    )
    return ranks.astype("int64")


def score_managers(by_spec: pd.DataFrame, key_codes: Iterable[str] | pd.Series) -> pd.DataFrame:
    """Scores each manager in each cycle and ranks managers within the cycle, as by_manager.csv shows."""
    return _figures(cycle_sums(by_spec, key_codes))


def pooled(
    by_spec: pd.DataFrame,
    key_codes: Iterable[str] | pd.Series,
    group: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Scores a range of cycles (a month, a quarter) by pooling its (cycle, spec) cells, never netting
    across cycles; ``period`` in the result is the range label.

    ``group`` maps a period to its range label; periods it does not name are left out, so one mapping
    both selects and labels the ranges. ``None`` pools every period into one range "first..last".
    """
    sums = cycle_sums(by_spec, key_codes).reset_index()
    if group is None:
        group = range_labels(sums["period"], "all")
    sums["period"] = sums["period"].map(pd.Series(dict(group), dtype="object"))
    sums = sums[sums["period"].notna()]
    value_cols = [c for c in sums.columns if c not in GROUP]
    ranged = sums.groupby(GROUP, sort=True, observed=True)[value_cols].sum().astype("int64")
    return _figures(ranged)


POOLS = ("month", "quarter", "all")


def range_labels(
    periods: Iterable[str], pool: str, start_dates: Mapping[str, date] | None = None
) -> dict[str, str]:
    """Puts each cycle in the month or quarter its start date falls in, as DOMAIN.md defines a range.

    Without ``start_dates`` a period must itself be an ISO date (the cycle's start date). ``all``
    puts every period in one range labelled "first..last".
    """
    periods = sorted(set(periods))
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}: use one of {', '.join(POOLS)}")
    if pool == "all":
        label = periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}" if periods else ""
        return dict.fromkeys(periods, label)
    labels = {}
    for period in periods:
        if start_dates is not None:
            if period not in start_dates:
                raise ValueError(f"period {period!r} has no start date")
            start = start_dates[period]
        else:
            try:
                start = date.fromisoformat(period)
            except ValueError:
                raise ValueError(
                    f"period {period!r} is not a date YYYY-MM-DD; give each cycle's start date"
                ) from None
        quarter = (start.month - 1) // 3 + 1
        labels[period] = f"{start:%Y-%m}" if pool == "month" else f"{start.year}-Q{quarter}"
    return labels
