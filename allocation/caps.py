"""Caps from the floating-cap policy (总量浮动管理): a retailer's total gets an upper limit that floats, never a floor.

Pure computation: frames in, frame out. The HTTP layer stores a `CapPolicy` (allocation/cap_policy.py) as
versioned JSON and calls `compute_caps` for a cycle; every output column is part of the cap's shown basis, so an
auditor can redo any cap by hand from the formula in `compute_caps`' docstring.
All carton arithmetic is in integers, so a cap never depends on a float's last bit.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from allocation.cap_policy import CapPolicy, size_from_tier
from allocation.rows import Whole, whole_numbers
from allocation.vocabulary import TIER_MAX, TIER_MIN, RetailerStatus, SizeClass, values

CAP_COLUMNS = (
    "retailer_id cap weight size_class method base_monthly band monthly_cap allocated_so_far cycles_left "
    "even_share bound carry_over weeks_with_orders weeks_on_record cycles_in_month order_every_weeks"
).split()


class CapInputError(ValueError):
    """Raised on input a cap cannot honestly be computed from, with a sentence naming what is wrong."""


def month_cycles(cycle_start: date, cycle_end: date) -> tuple[int, int, int]:
    """Places a cycle in its calendar month (the cycles starting in it): the frame of the smoothing.

    Returns (cycle length in days L, index c of this cycle in the month from 0, count n of its cycles);
    the month's cycles start at cycle_start + k·L for the k keeping the start inside the month.
    """
    length = (cycle_end - cycle_start).days + 1
    if length < 1:
        raise CapInputError(f"cycle_end {cycle_end} is before cycle_start {cycle_start}")
    days = calendar.monthrange(cycle_start.year, cycle_start.month)[1]
    index = (cycle_start.day - 1) // length
    return length, index, index + 1 + (days - cycle_start.day) // length


def _week_of(value: Any) -> int:
    """Numbers weeks Monday-first from 0001-01-01 so ISO-week labels and dates land on one integer axis."""
    if isinstance(value, datetime | pd.Timestamp):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(r"(\d{4})-?W(\d{2})", text)
        try:
            value = (
                date.fromisocalendar(int(match[1]), int(match[2]), 1) if match else date.fromisoformat(text)
            )
        except ValueError:
            value = None
    if not isinstance(value, date):
        raise CapInputError(f"history period {value!r} is neither an ISO week like 2026-W35 nor a date")
    return (value.toordinal() - 1) // 7


def _whole(values: pd.Series, what: str) -> np.ndarray:
    """Refuses negative, fractional or missing quantities, which would make a cap meaningless."""
    parsed, kind = whole_numbers(values, None, decimals_ok=True)
    if kind.any():
        first = int(np.argmax(kind != Whole.OK))
        raise CapInputError(
            f"{what}: line {first + 2} has {values.iloc[first]!r}, not a whole non-negative number of cartons"
        )
    return parsed


def _blank_as(column: pd.Series | None, default: str, rows: int) -> pd.Series:
    """Reads an optional text column where a CSV's empty cell, None or NaN all mean 'not given'."""
    if column is None:
        return pd.Series([default] * rows, dtype=object)
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip().reset_index(drop=True)
    return text.where(text != "", default)


def _active(retailers: pd.DataFrame, policy: CapPolicy) -> pd.DataFrame:
    """Validates the retailers and keeps the active ones: a suspended one cannot order, so gets no cap."""
    missing = [c for c in ("retailer_id", "tier", "market_type") if c not in retailers.columns]
    if missing:
        raise CapInputError(f"retailers: missing column(s) {', '.join(missing)}")
    ids = retailers["retailer_id"].astype(str)
    if ids.duplicated().any():
        raise CapInputError(f"retailers: duplicate retailer_id {ids[ids.duplicated()].iloc[0]!r}")
    status = _blank_as(retailers.get("status"), RetailerStatus.ACTIVE.value, len(retailers))
    if not status.isin(values(RetailerStatus)).all():
        raise CapInputError(
            f"retailers: status {status[~status.isin(values(RetailerStatus))].iloc[0]!r} is not active/suspended"
        )
    tier = _whole(retailers["tier"], "retailers.tier")
    if ((tier < TIER_MIN) | (tier > TIER_MAX)).any():
        raise CapInputError("retailers: tier must be 1-30")
    every = _whole(
        retailers.get("order_every_weeks", pd.Series(1, retailers.index)).fillna(1), "order_every_weeks"
    )
    if ((every < 1) | (every > 4)).any():
        raise CapInputError("retailers: order_every_weeks must be 1-4")
    size = size_from_tier(tier, policy)
    given = _blank_as(retailers.get("size_class"), "", len(retailers))
    if not given.isin(SIZES := ["", *values(SizeClass)]).all():
        raise CapInputError(
            f"retailers: size_class {given[~given.isin(SIZES)].iloc[0]!r} is not large/medium/small"
        )
    size = np.where(given.to_numpy() == "", size, given.to_numpy()).astype(object)
    out = pd.DataFrame(
        {
            "retailer_id": ids.to_numpy(),
            "tier": tier,
            "market_type": retailers["market_type"].astype(str).to_numpy(),
            "size_class": size,
            "order_every_weeks": every,
        }
    )
    out = out[(status == RetailerStatus.ACTIVE).to_numpy()]
    return out.sort_values("retailer_id", kind="stable").reset_index(drop=True)


def _history_stats(history: pd.DataFrame, ids: pd.Index, end_week: int, weeks: int) -> tuple[np.ndarray, ...]:
    """Sums each retailer's history over specs per week of the window: (total, weeks with an order, span)."""
    missing = [c for c in ("retailer_id", "period", "quantity") if c not in history.columns]
    if missing:
        raise CapInputError(f"history: missing column(s) {', '.join(missing)}")
    n = len(ids)
    r_codes, r_uniques = pd.factorize(history["retailer_id"])
    r_map = np.append(ids.get_indexer(pd.Index(r_uniques).astype(str)), -1)
    p_codes, p_uniques = pd.factorize(history["period"])
    if (p_codes < 0).any():
        raise CapInputError(f"history: line {int(np.argmax(p_codes < 0)) + 2} has no period")
    week = np.array([_week_of(p) for p in p_uniques], dtype=np.int64)[p_codes]
    qty = _whole(history["quantity"], "history.quantity")
    row = r_map[r_codes]
    keep = (row >= 0) & (qty > 0) & (week < end_week)
    row, week, qty = row[keep], week[keep], qty[keep]
    start = end_week - weeks
    earlier = np.zeros(n, dtype=bool)
    earlier[row[week < start]] = True
    inside = week >= start
    per_week = pd.Series(qty[inside]).groupby(row[inside] * weeks + (week[inside] - start), sort=False).sum()
    key = per_week.index.to_numpy()
    who, offset = key // weeks, key % weeks
    total = np.bincount(who, weights=per_week.to_numpy(), minlength=n).round().astype(np.int64)
    with_order = np.bincount(who, minlength=n).astype(np.int64)
    first = np.full(n, weeks, dtype=np.int64)
    np.minimum.at(first, who, offset)
    span = np.where(earlier, weeks, weeks - first)
    return total, with_order, span


def _tier_defaults(
    active: pd.DataFrame, base: np.ndarray, eligible: np.ndarray, policy: CapPolicy, month_days: int
) -> np.ndarray:
    """A retailer without enough history gets what its peers typically take, or its tier's policy figure."""
    peers = active.loc[eligible, ["tier", "market_type"]].assign(base=base[eligible])
    by_both = peers.groupby(["tier", "market_type"])["base"].median()
    by_tier = peers.groupby("tier")["base"].median()
    overall = peers["base"].median() if len(peers) else np.nan
    key = pd.MultiIndex.from_frame(active[["tier", "market_type"]])
    value = by_both.reindex(key).to_numpy(dtype=float)
    value = np.where(np.isnan(value), by_tier.reindex(active["tier"]).to_numpy(dtype=float), value)
    value = np.where(np.isnan(value), overall, value)
    value = np.floor(np.nan_to_num(value, nan=0.0)).astype(np.int64)
    for tier, weekly in policy.tier_default_weekly.items():
        value[active["tier"].to_numpy() == tier] = weekly * month_days // 7
    return value


def compute_caps(
    retailers: pd.DataFrame,
    history: pd.DataFrame,
    policy: CapPolicy,
    cycle_start: date,
    cycle_end: date,
    allocated_this_month: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Gives each active retailer its total cap for a cycle: no month-start surge, no month-end starvation.

    Notation: L = cycle length in days; the month's cycles start at cycle_start + k·L inside the calendar
    month of cycle_start, n of them, this one the c-th (from 0); e = order_every_weeks (the retailer orders
    in every e-th cycle, this one included). The history window is the `history_weeks` (H) complete weeks
    before the week of the month's first cycle, so the month's figures stay fixed while the month runs.

    1. weeks_on_record s = H if the retailer ordered before the window, else weeks from its first ordering
       week in the window to the window's end; T = its total (all specs) in the window.
    2. method 'history' if it ordered (total > 0) in at least `min_history_weeks` weeks of the window:
       base_monthly B = ⌊T · n · L / (7 · s)⌋ (its weekly average times the month's weeks);
       else 'tier_default': B = ⌊tier_default_weekly[tier] · n · L / 7⌋ if the policy sets it, else the
       ⌊median⌋ of B over 'history' retailers of the same tier and market type (then tier, then all, else 0).
    3. band b by size class (given, else from tier); monthly_cap M = ⌊B · (1 + b)⌋ (exact, in basis points).
    4. cycles_in_month m = ⌊c/e⌋ + 1 + ⌊(n−1−c)/e⌋; cycles_left k = ⌊(n−1−c)/e⌋ + 1 (this one included).
    5. allocated_so_far a (sum of `allocated` of `allocated_this_month`; 0 if None); even_share = M / m;
       bound = ⌈smoothing_factor · M / m⌉; carry_over = max(0, ⌊M·(m−k)/m⌋ − a) (earlier cycles' unused cap).
    6. cap = min(⌊max(0, M − a) / k⌋, bound, max_cap).

    Taking its full cap every cycle, a retailer receives exactly M over the month (each cap is ⌊M/m⌋ or
    ⌈M/m⌉ ≤ bound, the last takes what is left); whatever it takes, its month's total never exceeds M.
    Suspended retailers get no row. `retailers` may carry `size_class`, `status`, `order_every_weeks`;
    `history` has retailer_id, period (ISO week "2026-W35" or a date), quantity (summed over any specs).
    """
    length, index, count = month_cycles(cycle_start, cycle_end)
    active = _active(retailers, policy)
    ids = pd.Index(active["retailer_id"])
    first_start = cycle_start - timedelta(days=index * length)
    total, with_order, span = _history_stats(history, ids, _week_of(first_start), policy.history_weeks)

    days = count * length  # the month's weeks are days / 7; kept as an integer product
    eligible = with_order >= policy.min_history_weeks
    base = np.where(eligible, total * days // (7 * np.maximum(span, 1)), 0)
    base = np.where(eligible, base, _tier_defaults(active, base, eligible, policy, days))
    bp = np.array([round(getattr(policy.bands, s) * 10_000) for s in SizeClass], dtype=np.int64)
    band_bp = bp[pd.Categorical(active["size_class"], categories=values(SizeClass)).codes]
    monthly = base * (10_000 + band_bp) // 10_000

    every = active["order_every_weeks"].to_numpy()
    in_month = index // every + 1 + (count - 1 - index) // every
    left = (count - 1 - index) // every + 1
    so_far = np.zeros(len(ids), dtype=np.int64)
    if allocated_this_month is not None and len(allocated_this_month):
        if "retailer_id" not in allocated_this_month or "allocated" not in allocated_this_month:
            raise CapInputError("allocated_this_month: needs columns retailer_id, allocated")
        got = pd.Series(_whole(allocated_this_month["allocated"], "allocated_this_month.allocated"))
        got = got.groupby(allocated_this_month["retailer_id"].astype(str).to_numpy()).sum()
        so_far = got.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    factor = round(policy.smoothing_factor * 100)
    bound = (factor * monthly + 100 * in_month - 1) // (100 * in_month)
    cap = np.minimum(np.minimum(np.maximum(monthly - so_far, 0) // left, bound), policy.max_cap)
    weights = np.ones(31)
    for tier, weight in policy.tier_weights.items():
        weights[tier] = weight
    return pd.DataFrame(
        {
            "retailer_id": ids.to_numpy(),
            "cap": cap,
            "weight": weights[active["tier"].to_numpy()],
            "size_class": active["size_class"].to_numpy(),
            "method": np.where(eligible, "history", "tier_default"),
            "base_monthly": base,
            "band": band_bp / 10_000,
            "monthly_cap": monthly,
            "allocated_so_far": so_far,
            "cycles_left": left,
            "even_share": monthly / in_month,
            "bound": bound,
            "carry_over": np.maximum(monthly * (in_month - left) // in_month - so_far, 0),
            "weeks_with_orders": with_order,
            "weeks_on_record": np.where(eligible, span, 0),
            "cycles_in_month": in_month,
            "order_every_weeks": every,
        },
        columns=CAP_COLUMNS,
    )


def take_full_cap(cycle: int, caps: pd.DataFrame, retailers: pd.DataFrame) -> np.ndarray:
    """A retailer that orders in this cycle takes its whole cap: then nothing may be lost by month end.

    A retailer ordering every e cycles orders in the month's cycles c ≥ phase with (c − phase) divisible by e,
    where phase is its optional `order_phase` column (default 0).
    """
    phase = retailers.set_index(retailers["retailer_id"].astype(str)).get("order_phase")
    phase = 0 if phase is None else phase.reindex(caps["retailer_id"]).fillna(0).to_numpy(dtype=np.int64)
    every = caps["order_every_weeks"].to_numpy()
    orders = (cycle >= phase) & ((cycle - phase) % every == 0)
    return np.where(orders, caps["cap"].to_numpy(), 0)


def simulate_month(
    retailers: pd.DataFrame,
    history: pd.DataFrame,
    policy: CapPolicy,
    any_cycle_start: date,
    cycle_days: int = 7,
    take: Callable[[int, pd.DataFrame, pd.DataFrame], np.ndarray] = take_full_cap,
) -> pd.DataFrame:
    """Runs the caps over every cycle of a month, each cycle's take fed into the next, to check the smoothing.

    `take(cycle_index, caps, retailers)` returns each cap row's allocated cartons (0..cap). Answers one row
    per cycle and retailer: cycle, cycle_start, the cap columns, and `allocated`.
    """
    index = (any_cycle_start.day - 1) // cycle_days
    start = any_cycle_start - timedelta(days=index * cycle_days)
    allocated = pd.DataFrame({"retailer_id": pd.Series(dtype=str), "allocated": pd.Series(dtype=np.int64)})
    rows = []
    cycle = 0
    while start.month == any_cycle_start.month:
        caps = compute_caps(
            retailers, history, policy, start, start + timedelta(days=cycle_days - 1), allocated
        )
        got = np.asarray(take(cycle, caps, retailers), dtype=np.int64)
        if ((got < 0) | (got > caps["cap"].to_numpy())).any():
            raise CapInputError(f"take gave a retailer more than its cap (or less than 0) in cycle {cycle}")
        step = caps.assign(cycle=cycle, cycle_start=start, allocated=got)
        rows.append(step)
        allocated = pd.concat([allocated, step[["retailer_id", "allocated"]]], ignore_index=True)
        start += timedelta(days=cycle_days)
        cycle += 1
    return pd.concat(rows, ignore_index=True)
