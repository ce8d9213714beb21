"""What auditors check beyond accuracy (DOMAIN.md): self-submission, clusters, cap moves, value per carton and
key-brand share per account manager and cycle, computed exactly as defined there, with no I/O.

Everything goes through one *sums* frame, one row per (manager_id, cycle_id) of counts and cartons (money in
fen, so sums are exact integers). Every figure is a function of that frame alone, so a manager's cycle, his
range of cycles and the company row are the same arithmetic over different sums: counts and cartons are added,
rates are recomputed from the sums, never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from allocation.clusters import clusters, orders_in_clusters
from allocation.vocabulary import Channel

LAST_YEAR_DAYS = 364  # 52 weeks: the same weekdays a year earlier
COUNTS = ["orders", "retailer_stated", "collected", "collected_approved", "collected_left_out", "no_order_retailers",
          "orders_in_clusters", "cap_moves", "cartons_moved"]
SUMS = [*COUNTS, "cartons", "stated_cartons", "demand_cartons", "demand_value", "demand_key_cartons",
        "allocated_cartons", "allocated_value", "allocated_key_cartons", "last_year_cartons", "last_year_value"]
RATES = ["self_submission_rate", "self_submission_volume_rate", "cluster_share", "value_per_carton_demand",
         "value_per_carton_allocated", "value_per_carton_last_year", "value_per_carton_change", "key_share_demand",
         "key_share_allocated"]
# the order of CONTRACT.md's list
COLUMNS = ["manager_id", "period", "orders", "retailer_stated", "collected", "collected_approved", "collected_left_out",
           "no_order_retailers", "self_submission_rate", "self_submission_volume_rate", "orders_in_clusters",
           "cluster_share", "cap_moves", "cartons_moved", "value_per_carton_demand", "value_per_carton_allocated",
           "value_per_carton_last_year", "value_per_carton_change", "key_share_demand", "key_share_allocated"]


class CompliancePolicy(BaseModel, extra="forbid", use_attribute_docstrings=True):
    """The identical-order cluster thresholds, as data the company sets (versioned like the cap policy)."""

    min_cluster: int = Field(3, ge=2, le=10_000)
    """a cluster is at least this many identical orders of one manager's retailers in one cycle"""
    min_lines: int = Field(3, ge=1, le=1_000)
    """each of them with at least this many lines of quantity > 0 (small orders are often alike by chance)"""


def _frame(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True)
class ComplianceData:
    """The inputs of one request, as plain frames (rows in any order).

    - ``cycles``: ``cycle_id, start_date, end_date`` (closed or published cycles).
    - ``retailers``: ``retailer_id, manager_id, active`` — every retailer now, with its current manager.
    - ``orders``: ``cycle_id, retailer_id, manager_id, channel, approved, total`` — each current order;
      ``approved``: a collected order approved at its current version; ``manager_id``: the retailer's current one.
    - ``lines``: ``cycle_id, retailer_id, brand_code, quantity`` — the orders' current lines, for the clusters
      (a caller may leave out the lines of orders that cannot be in one, see models/compliance.py).
    - ``demand``: ``cycle_id, manager_id, brand_code, quantity`` — the cartons that enter the run (retailer-stated
      orders and collected ones approved at their current version), as accuracy's actuals.
    - ``brands``: ``brand_code, wholesale_price, is_key`` — today's master data (price in 元, 2 decimals).
    - ``adjustments``: ``cycle_id, manager_id, cartons`` — one row per approved cap adjustment, cartons moved.
    - ``allocated``: ``cycle_id, manager_id, brand_code, quantity`` — the published runs' cartons.
    - ``history``: ``manager_id, week, brand_code, quantity`` — loaded history of his current retailers, ``week``
      the Monday (a date) of the row's week.
    - ``loaded_weeks``: the Mondays of every week that has any history loaded.
    """

    cycles: pd.DataFrame = field(default_factory=lambda: _frame("cycle_id", "start_date", "end_date"))
    retailers: pd.DataFrame = field(default_factory=lambda: _frame("retailer_id", "manager_id", "active"))
    orders: pd.DataFrame = field(default_factory=lambda: _frame("cycle_id", "retailer_id", "manager_id", "channel",
                                                                "approved", "total"))
    lines: pd.DataFrame = field(default_factory=lambda: _frame("cycle_id", "retailer_id", "brand_code", "quantity"))
    demand: pd.DataFrame = field(default_factory=lambda: _frame("cycle_id", "manager_id", "brand_code", "quantity"))
    brands: pd.DataFrame = field(default_factory=lambda: _frame("brand_code", "wholesale_price", "is_key"))
    adjustments: pd.DataFrame = field(default_factory=lambda: _frame("cycle_id", "manager_id", "cartons"))
    allocated: pd.DataFrame = field(default_factory=lambda: _frame("cycle_id", "manager_id", "brand_code", "quantity"))
    history: pd.DataFrame = field(default_factory=lambda: _frame("manager_id", "week", "brand_code", "quantity"))
    loaded_weeks: frozenset[date] = frozenset()


def last_year_weeks(start: date, end: date) -> list[date]:
    """The Mondays falling in [start − 364 days, end − 364 days]: the weeks a cycle is compared with."""
    first, last = start - timedelta(LAST_YEAR_DAYS), end - timedelta(LAST_YEAR_DAYS)
    monday = first + timedelta((7 - first.weekday()) % 7)
    return [monday + timedelta(7 * k) for k in range((last - monday).days // 7 + 1)] if monday <= last else []


@dataclass(frozen=True)
class _Prices:
    """Today's price (fen) and key flag by spec, looked up by position."""

    index: pd.Index
    fen: np.ndarray
    key: np.ndarray

    @classmethod
    def of(cls, brands: pd.DataFrame) -> _Prices:
        fen = np.rint(pd.to_numeric(brands["wholesale_price"]).to_numpy(dtype="float64") * 100).astype(np.int64)
        return cls(pd.Index(brands["brand_code"].to_numpy(dtype=object)), fen, brands["is_key"].to_numpy(dtype=bool))


def _priced(frame: pd.DataFrame, prices: _Prices) -> pd.DataFrame:
    """Cartons, value (fen, at today's price) and key cartons per row; specs missing from the master dropped."""
    pos = prices.index.get_indexer(frame["brand_code"].to_numpy(dtype=object))
    known = np.flatnonzero(pos >= 0)
    cartons = frame["quantity"].to_numpy()[known].astype(np.int64)
    out = frame[["manager_id", "cycle_id"]].iloc[known].reset_index(drop=True)
    return out.assign(cartons=cartons, value=cartons * prices.fen[pos[known]],
                      key_cartons=np.where(prices.key[pos[known]], cartons, 0))


def _sum(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Per (manager_id, cycle_id) sums of frame's columns, renamed."""
    return frame.groupby(["manager_id", "cycle_id"], sort=False)[list(names)].sum().rename(columns=names)


def _last_year(data: ComplianceData, prices: _Prices) -> pd.DataFrame:
    """Per (manager, cycle): last year's cartons and value, only for cycles whose whole window has history."""
    parts = []
    history = data.history
    for cycle_id, start, end in data.cycles[["cycle_id", "start_date", "end_date"]].itertuples(index=False):
        weeks = last_year_weeks(start, end)
        if not weeks or not set(weeks) <= data.loaded_weeks:
            continue  # an incomplete year-ago window gives no value rather than a partial one
        rows = history[history["week"].isin(weeks)]
        parts.append(rows.assign(cycle_id=cycle_id))
    rows = pd.concat(parts, ignore_index=True) if parts else _frame("manager_id", "cycle_id", "brand_code", "quantity")
    return _sum(_priced(rows, prices), {"cartons": "last_year_cartons", "value": "last_year_value"})


def _orders(data: ComplianceData) -> pd.DataFrame:
    """One row per order (total > 0) with its channel flags and cartons."""
    orders = data.orders[data.orders["total"].to_numpy() > 0]
    stated = (orders["channel"] == Channel.RETAILER_STATED).to_numpy()
    collected = (orders["channel"] == Channel.COLLECTED).to_numpy()
    approved = collected & orders["approved"].to_numpy(dtype=bool)
    total = orders["total"].to_numpy(dtype=np.int64)
    active = data.retailers["retailer_id"].to_numpy(dtype=object)[data.retailers["active"].to_numpy(dtype=bool)]
    return orders[["manager_id", "cycle_id"]].assign(
        orders=1, retailer_stated=stated, collected=collected, collected_approved=approved,
        collected_left_out=collected & ~approved,
        ordering_active=pd.Index(active).get_indexer(orders["retailer_id"].to_numpy(dtype=object)) >= 0,
        cartons=total, stated_cartons=np.where(stated, total, 0))


def cycle_sums(data: ComplianceData, policy: CompliancePolicy) -> pd.DataFrame:
    """One row per (manager, cycle) for every manager with a retailer now (or a cap adjustment) and every cycle."""
    managers = pd.unique(np.concatenate([data.retailers["manager_id"].to_numpy(dtype=object),
                                         data.orders["manager_id"].to_numpy(dtype=object),
                                         data.adjustments["manager_id"].to_numpy(dtype=object)]))
    grid = pd.MultiIndex.from_product([sorted(managers), sorted(data.cycles["cycle_id"])],
                                      names=["manager_id", "cycle_id"])
    prices = _Prices.of(data.brands)
    flags = _orders(data)
    found = clusters(data.orders, data.lines, policy.min_cluster, policy.min_lines)
    adjustments = data.adjustments.assign(cap_moves=1, cartons_moved=data.adjustments["cartons"])
    parts = [
        _sum(flags, {c: c for c in flags.columns if c not in ("manager_id", "cycle_id")}),
        orders_in_clusters(found).set_index(["manager_id", "cycle_id"]),
        _sum(adjustments, {"cap_moves": "cap_moves", "cartons_moved": "cartons_moved"}),
        _sum(_priced(data.demand, prices), {"cartons": "demand_cartons", "value": "demand_value",
                                            "key_cartons": "demand_key_cartons"}),
        _sum(_priced(data.allocated, prices), {"cartons": "allocated_cartons", "value": "allocated_value",
                                               "key_cartons": "allocated_key_cartons"}),
        _last_year(data, prices),
    ]
    sums = pd.concat([part.reindex(grid) for part in parts], axis=1)
    sums = sums.reindex(index=grid, columns=[*SUMS, "ordering_active"]).fillna(0).astype(np.int64)
    active_count = data.retailers[data.retailers["active"].to_numpy(dtype=bool)].groupby("manager_id").size()
    sums["no_order_retailers"] = (active_count.reindex(sums.index.get_level_values("manager_id")).fillna(0)
                                  .to_numpy(dtype=np.int64) - sums["ordering_active"].to_numpy())
    return sums[SUMS]


def _rate(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den as a float, empty (NaN) when the denominator is 0."""
    n, d = num.to_numpy(dtype="float64"), den.to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(d > 0, n / d, np.nan), index=num.index, dtype="float64")


def _yuan_per_carton(value: pd.Series, cartons: pd.Series) -> pd.Series:
    """Fen over cartons in 元, rounded half up to the fen in integers; empty when there are no cartons."""
    v, c = value.to_numpy(dtype=np.int64), cartons.to_numpy(dtype=np.int64)
    safe = np.where(c > 0, c, 1)
    fen = (2 * v + safe) // (2 * safe)
    return pd.Series(np.where(c > 0, fen / 100, np.nan), index=value.index, dtype="float64")


def self_submission_rate(sums: pd.DataFrame) -> pd.Series:
    """Orders the retailer stated itself over all orders (自主提报)."""
    return _rate(sums["retailer_stated"], sums["orders"])


def self_submission_volume_rate(sums: pd.DataFrame) -> pd.Series:
    """The same by cartons ordered, so a few large collected orders are not hidden by many small stated ones."""
    return _rate(sums["stated_cartons"], sums["cartons"])


def cluster_share(sums: pd.DataFrame) -> pd.Series:
    """Orders in identical-order clusters over all orders (the trace of dictated orders)."""
    return _rate(sums["orders_in_clusters"], sums["orders"])


def value_per_carton_demand(sums: pd.DataFrame) -> pd.Series:
    """单条均价 of the orders that enter the run, at today's wholesale prices."""
    return _yuan_per_carton(sums["demand_value"], sums["demand_cartons"])


def value_per_carton_allocated(sums: pd.DataFrame) -> pd.Series:
    """单条均价 of the published allocation (empty before publishing)."""
    return _yuan_per_carton(sums["allocated_value"], sums["allocated_cartons"])


def value_per_carton_last_year(sums: pd.DataFrame) -> pd.Series:
    """单条均价 of the same weeks a year earlier, at today's prices (empty without a complete window)."""
    return _yuan_per_carton(sums["last_year_value"], sums["last_year_cartons"])


def value_per_carton_change(sums: pd.DataFrame) -> pd.Series:
    """(demand ÷ last year − 1) × 100 from the exact values, rounded half away from zero to 2 decimals."""
    out = []
    for dv, dc, lv, lc in sums[["demand_value", "demand_cartons", "last_year_value", "last_year_cartons"]].itertuples(
            index=False):
        if dc <= 0 or lc <= 0 or lv <= 0:
            out.append(np.nan)
            continue
        change = (Fraction(int(dv) * int(lc), int(dc) * int(lv)) - 1) * 10_000  # hundredths of a percent
        whole = int(abs(change) + Fraction(1, 2))
        out.append((whole if change >= 0 else -whole) / 100)
    return pd.Series(out, index=sums.index, dtype="float64")


def key_share_demand(sums: pd.DataFrame) -> pd.Series:
    """Cartons of key-brand specs over all cartons of the orders that enter the run."""
    return _rate(sums["demand_key_cartons"], sums["demand_cartons"])


def key_share_allocated(sums: pd.DataFrame) -> pd.Series:
    """The same over the published allocation (empty before publishing)."""
    return _rate(sums["allocated_key_cartons"], sums["allocated_cartons"])


FIGURES = {f.__name__: f for f in (self_submission_rate, self_submission_volume_rate, cluster_share,
                                   value_per_carton_demand, value_per_carton_allocated, value_per_carton_last_year,
                                   value_per_carton_change, key_share_demand, key_share_allocated)}


def figures(sums: pd.DataFrame) -> pd.DataFrame:
    """The counts and every figure of each sums row (index kept)."""
    out = sums[COUNTS].copy()
    for name, figure in FIGURES.items():
        out[name] = figure(sums)
    return out


def report(sums: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
    """The rows auditors read: per manager and cycle (period = cycle id), or pooled over the cycles under
    ``label``; each period also gets the company row (``manager_id`` None), the sum of every manager's sums.
    Sorted by cycle, the company row first, then by manager."""
    if label is not None:
        sums = sums.groupby(level="manager_id", sort=True).sum().assign(order=0, period=label)
    else:
        sums = sums.reset_index("cycle_id").rename(columns={"cycle_id": "order"})
        sums["period"] = sums["order"].astype(str)
    company = sums.groupby(["order", "period"], sort=False)[SUMS].sum().reset_index().assign(manager_id=None)
    rows = pd.concat([company, sums.reset_index()], ignore_index=True)
    rows = rows.assign(company=rows["manager_id"].notna(), name=rows["manager_id"].fillna(""))
    rows = rows.sort_values(["order", "company", "name"], kind="stable").reset_index(drop=True)
    out = figures(rows).assign(manager_id=rows["manager_id"], period=rows["period"])
    return out[COLUMNS]
