"""Identical-order clusters, the trace dictated orders leave (rule 3): exact, deterministic, no I/O.

Two orders are identical when their sets of (spec, quantity) lines with quantity > 0 are equal. A cluster is a
group of at least ``min_cluster`` identical orders of one manager's retailers in one cycle, each with at least
``min_lines`` such lines. Orders are compared by a canonical key (their lines sorted by spec, packed as bytes),
never by similarity, so a cluster is a fact anyone can check by hand, and the same rows in any order give the
same clusters. A signal for an auditor to look at, never a verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ORDER_COLUMNS = ["cycle_id", "retailer_id", "manager_id", "total"]
LINE_COLUMNS = ["cycle_id", "retailer_id", "brand_code", "quantity"]
CLUSTER_COLUMNS = ["cycle_id", "manager_id", "size", "lines", "retailer_ids"]


def _missing(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"{name}: missing column(s) {', '.join(absent)}")


def order_lines(orders: pd.DataFrame, lines: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The orders (total > 0), their lines with quantity > 0, and each such line's position in the orders.

    Lines of no such order are dropped. Orders and lines are matched on integer keys (cycle, retailer) built by
    one factorization of both frames' ids: hashing half a million string pairs twice would cost more.
    """
    _missing(orders, ORDER_COLUMNS, "orders")
    _missing(lines, LINE_COLUMNS, "lines")
    kept = orders[orders["total"].to_numpy() > 0].reset_index(drop=True)
    live = lines[lines["quantity"].to_numpy() > 0]
    n = len(kept)
    retailer, names = pd.factorize(np.concatenate([kept["retailer_id"].to_numpy(dtype=object),
                                                   live["retailer_id"].to_numpy(dtype=object)]))
    cycle, _ = pd.factorize(np.concatenate([kept["cycle_id"].to_numpy(), live["cycle_id"].to_numpy()]))
    key = cycle.astype(np.int64) * max(len(names), 1) + retailer
    at = pd.Index(key[:n]).get_indexer(key[n:])
    return kept, at[at >= 0], live[at >= 0]


def clusters(orders: pd.DataFrame, lines: pd.DataFrame, min_cluster: int, min_lines: int) -> pd.DataFrame:
    """Every cluster: cycle, manager, size, its lines [(brand_code, quantity)] by spec, its retailers sorted.

    ``orders``: one row per current order (``cycle_id, retailer_id, manager_id, total``; the manager is the
    retailer's current one), both channels, approved or not; an order of total 0 is no order. ``lines``: the
    orders' current lines (``cycle_id, retailer_id, brand_code, quantity``). Clusters are sorted by cycle,
    manager and first retailer, which identifies a cluster within its cycle.
    """
    if min_cluster < 2 or min_lines < 1:
        raise ValueError("min_cluster must be at least 2 and min_lines at least 1")
    kept, at, live = order_lines(orders, lines)
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in CLUSTER_COLUMNS})
    if not len(live):
        return empty
    sign = kept.assign(lines=np.bincount(at, minlength=len(kept)),
                       cartons=np.bincount(at, weights=live["quantity"].to_numpy(), minlength=len(kept)))
    take = may_cluster(sign, min_cluster, min_lines)[at]
    if not take.any():
        return empty
    specs, spec_codes = pd.factorize(live["brand_code"].to_numpy()[take], sort=True)
    quantity = live["quantity"].to_numpy()[take].astype(np.int64)
    owner = at[take]
    width = int(quantity.max()) + 1
    packed = specs.astype(np.int64) * width + quantity
    order = np.lexsort((packed, owner))
    owner, packed = owner[order], packed[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[starts[1:], len(owner)]
    keys = [packed[s:e].tobytes() for s, e in zip(starts, ends)]
    members = kept.iloc[owner[starts]][["cycle_id", "manager_id", "retailer_id"]].assign(key=keys)
    members["size"] = members.groupby(["cycle_id", "manager_id", "key"], sort=False)["key"].transform("size")
    members = members[members["size"].to_numpy() >= min_cluster]
    if members.empty:
        return empty
    members = members.sort_values(["cycle_id", "manager_id", "retailer_id"], kind="stable")
    out = []
    for (cycle, manager, key), group in members.groupby(["cycle_id", "manager_id", "key"], sort=False):
        codes = np.frombuffer(key, dtype=np.int64)
        out.append({"cycle_id": cycle, "manager_id": manager, "size": len(group),
                    "lines": [{"brand_code": str(spec_codes[c // width]), "quantity": int(c % width)} for c in codes],
                    "retailer_ids": list(group["retailer_id"])})
    result = pd.DataFrame(out, columns=CLUSTER_COLUMNS)
    first = result["retailer_ids"].map(lambda ids: ids[0])
    return (result.assign(first=first).sort_values(["cycle_id", "manager_id", "first"], kind="stable")
            .drop(columns="first").reset_index(drop=True))


def may_cluster(orders: pd.DataFrame, min_cluster: int, min_lines: int) -> np.ndarray:
    """Which orders can be in a cluster, from their ``lines`` (count of lines above 0) and ``cartons`` alone.

    Identical orders share cycle, manager, line count and total, so only an order with at least min_lines lines
    whose (cycle, manager, lines, cartons) it shares with min_cluster − 1 others can be in one: a cheap first cut
    that leaves most orders out before any key is built (and lets a caller fetch only those orders' lines).
    """
    sign = orders[["cycle_id", "manager_id", "lines", "cartons"]]
    size = sign.groupby(["cycle_id", "manager_id", "lines", "cartons"], sort=False)["lines"].transform("size")
    return (sign["lines"].to_numpy() >= min_lines) & (size.to_numpy() >= min_cluster)


def orders_in_clusters(found: pd.DataFrame) -> pd.DataFrame:
    """Orders that belong to a cluster, per (manager_id, cycle_id)."""
    return (found.groupby(["manager_id", "cycle_id"], sort=True)["size"].sum().rename("orders_in_clusters")
            .reset_index())
