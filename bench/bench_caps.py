"""Times the floating caps of a 30,000-retailer city against a per-retailer Python loop in the same run.

Run: python -m bench.bench_caps [--retailers N] [--repeat R]. Prints seconds, the ratio and the core count;
asserts no time, only that both ways give the same caps.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections import defaultdict
from datetime import date, timedelta

import pandas as pd

from allocation.cap_policy import CapPolicy
from allocation.caps import compute_caps, month_cycles
from allocation.vocabulary import RetailerStatus
from bench.common import best_of, usable_cores
from fixtures.city import generate_city

CYCLE_PERIOD = (
    "2026-W50"  # Monday 7 December 2026, the month's first cycle: its 12 weeks of history all count
)
CYCLE_START = date(2026, 12, 7)


def naive_caps(
    retailers: pd.DataFrame, history: pd.DataFrame, policy: CapPolicy, start: date, end: date
) -> pd.DataFrame:
    """The obvious way, one retailer at a time in plain Python: the baseline the vectorised caps beat."""
    length, index, count = month_cycles(start, end)
    first = start - timedelta(days=index * length)
    end_week = (first.toordinal() - 1) // 7
    start_week = end_week - policy.history_weeks
    week_of = {
        p: (date.fromisocalendar(int(p[:4]), int(p[6:]), 1).toordinal() - 1) // 7
        for p in history["period"].astype(str).unique()
    }
    weekly: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for rid, period, qty in zip(
        history["retailer_id"].astype(str).tolist(),
        history["period"].astype(str).tolist(),
        history["quantity"].tolist(),
        strict=True,
    ):
        if qty > 0 and week_of[period] < end_week:
            weekly[rid][week_of[period]] += qty
    rows, peers = [], defaultdict(list)
    for r in retailers.itertuples(index=False):
        if (r.status or RetailerStatus.ACTIVE) != RetailerStatus.ACTIVE:
            continue
        weeks = weekly.get(str(r.retailer_id), {})
        inside = sorted(w for w in weeks if w >= start_week)
        eligible = len(inside) >= policy.min_history_weeks
        base = 0
        if eligible:
            span = policy.history_weeks if any(w < start_week for w in weeks) else end_week - inside[0]
            base = sum(weeks[w] for w in inside) * count * length // (7 * span)
            peers[(r.tier, r.market_type)].append(base)
        rows.append(
            [str(r.retailer_id), r.tier, r.market_type, r.size_class, r.order_every_weeks, eligible, base]
        )
    by_tier = defaultdict(list)
    for (tier, _), values in peers.items():
        by_tier[tier] += values
    everyone = [v for values in peers.values() for v in values]
    out = []
    for rid, tier, market, size, every, eligible, base in rows:
        if not eligible:
            weekly_default = policy.tier_default_weekly.get(tier)
            pool = peers.get((tier, market)) or by_tier.get(tier) or everyone
            base = (
                weekly_default * count * length // 7
                if weekly_default is not None
                else math.floor(statistics.median(pool))
                if pool
                else 0
            )
        if not size:
            size = (
                "small"
                if tier < policy.medium_from_tier
                else "medium"
                if tier < policy.large_from_tier
                else "large"
            )
        monthly = base * (10_000 + round(getattr(policy.bands, size) * 10_000)) // 10_000
        in_month = len([i for i in range(count) if (i - index) % every == 0])
        left = len([i for i in range(index, count) if (i - index) % every == 0])
        bound = -(-round(policy.smoothing_factor * 100) * monthly // (100 * in_month))
        out.append((rid, min(monthly // left, bound, policy.max_cap)))
    return pd.DataFrame(out, columns=["retailer_id", "cap"]).sort_values("retailer_id", ignore_index=True)


def main() -> None:
    """Prints the figures the README quotes for the cap computation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--retailers", type=int, default=None, help="retailers (default: the city scale, 30,000)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t = time.perf_counter()
    city = generate_city(scale="city", seed=7, retailers=args.retailers, cycle_period=CYCLE_PERIOD)
    generated = time.perf_counter() - t
    retailers, history, policy = city.retailers, city.history, CapPolicy()
    end = CYCLE_START + timedelta(days=6)
    weekly = history.groupby(["retailer_id", "period"], observed=True, as_index=False)["quantity"].sum()

    spec_s, caps = best_of(args.repeat, compute_caps, retailers, history, policy, CYCLE_START, end)
    week_s, caps_weekly = best_of(args.repeat, compute_caps, retailers, weekly, policy, CYCLE_START, end)
    naive_s, naive = best_of(1, naive_caps, retailers, history, policy, CYCLE_START, end)
    same = caps[["retailer_id", "cap"]].equals(naive) and caps.equals(caps_weekly)

    cores = usable_cores()
    print(
        f"city: {len(retailers):,} retailers ({len(caps):,} active), {len(city.periods)} weeks, "
        f"{len(history):,} history lines ({len(weekly):,} retailer-weeks); generated in {generated:.2f} s"
    )
    print(f"cores available: {cores} (machine: {os.cpu_count()})")
    print(f"compute_caps, spec lines:         {spec_s:8.3f} s (best of {args.repeat})")
    print(f"compute_caps, weekly totals:      {week_s:8.3f} s (best of {args.repeat})")
    print(f"naive per-retailer loop:          {naive_s:8.3f} s")
    print(f"speed-up over the naive loop:     {naive_s / spec_s:8.1f}x")
    print(f"same caps both ways:              {same}")
    print(f"methods: {caps.method.value_counts().to_dict()}; total cap {int(caps.cap.sum()):,} cartons")


if __name__ == "__main__":
    main()
