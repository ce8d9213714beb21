"""What-if allocations: a closed cycle's frozen demand under other supply and/or caps, and how the result
compares with the cycle's run (DOMAIN.md "What-if (scenario)").

Pure computation on frames: the overrides replace the cycle's own values spec by spec and retailer by
retailer (the rest stand), and the comparison is computed line by line from both allocations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocation.vocabulary import SHORT_REASONS, Reason

LINE_KEYS = ["retailer_id", "brand_code"]


def with_overrides(supply: pd.DataFrame, caps: pd.DataFrame, supply_over: list[dict],
                   caps_over: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cycle's supply (brand_code, quantity) and caps (retailer_id, cap, weight) with the overrides applied:
    a listed spec's supply and a listed retailer's cap replace the cycle's (its weight too, where one is given;
    otherwise the cycle's weight, else 1); every other value stands."""
    s = supply.set_index("brand_code")["quantity"].astype("int64").to_dict()
    s.update({x["brand_code"]: int(x["quantity"]) for x in supply_over})
    c = {r: (int(cap), float(w)) for r, cap, w in zip(caps["retailer_id"], caps["cap"], caps["weight"])}
    for x in caps_over:
        weight = x.get("weight")
        c[x["retailer_id"]] = (int(x["cap"]), float(weight) if weight is not None
                               else c.get(x["retailer_id"], (0, 1.0))[1])
    supply_out = pd.DataFrame({"brand_code": pd.Series(list(s), dtype=str),
                               "quantity": pd.Series(list(s.values()), dtype="int64")})
    caps_out = pd.DataFrame({"retailer_id": pd.Series(list(c), dtype=str),
                             "cap": pd.Series([v[0] for v in c.values()], dtype="int64"),
                             "weight": pd.Series([v[1] for v in c.values()], dtype="float64")})
    return supply_out, caps_out


def _short_lines(rows: pd.DataFrame) -> dict[str, int]:
    counts = rows.loc[rows["reason"] != Reason.FULL, "reason"].value_counts()
    return {r: int(counts.get(r, 0)) for r in SHORT_REASONS}


def _fill_ratio(allocated: int, demanded: int) -> float | None:
    return allocated / demanded if demanded else None


def compare(run: pd.DataFrame, scenario: pd.DataFrame) -> dict:
    """The scenario against the run, both frames of allocation rows (retailer_id, brand_code, demanded,
    allocated, reason) on the same demand.

    volume_change: scenario − run cartons; fill_ratio_change: the difference of Σ allocated / Σ demanded over
    lines with demand > 0; short_lines_by_reason for both; shortfall_by_spec (demanded − allocated) for every
    demanded spec, by brand_code; retailers_changed: retailers with at least one line allocated differently.
    """
    run = run[run["demanded"] > 0]
    scenario = scenario[scenario["demanded"] > 0]
    both = run[LINE_KEYS + ["demanded", "allocated"]].astype({"retailer_id": str, "brand_code": str}).merge(
        scenario[LINE_KEYS + ["demanded", "allocated"]].astype({"retailer_id": str, "brand_code": str}),
        on=LINE_KEYS, how="outer", suffixes=("_run", "_scenario"))
    for side in ("run", "scenario"):
        both[f"allocated_{side}"] = both[f"allocated_{side}"].fillna(0).astype("int64")
        both[f"demanded_{side}"] = both[f"demanded_{side}"].fillna(0).astype("int64")
        both[f"shortfall_{side}"] = both[f"demanded_{side}"] - both[f"allocated_{side}"]
    totals = {side: (int(both[f"allocated_{side}"].sum()), int(both[f"demanded_{side}"].sum()))
              for side in ("run", "scenario")}
    ratios = {side: _fill_ratio(*totals[side]) for side in totals}
    by_spec = both.groupby("brand_code", sort=True)[["shortfall_run", "shortfall_scenario"]].sum()
    changed = both["allocated_run"].to_numpy() != both["allocated_scenario"].to_numpy()
    return {
        "volume_change": totals["scenario"][0] - totals["run"][0],
        "fill_ratio_change": (None if None in ratios.values()
                              else round(ratios["scenario"] - ratios["run"], 6)),
        "short_lines_by_reason": {"run": _short_lines(run), "scenario": _short_lines(scenario)},
        "shortfall_by_spec": [{"brand_code": code, "run": int(r), "scenario": int(s)}
                              for code, r, s in zip(by_spec.index, by_spec["shortfall_run"],
                                                    by_spec["shortfall_scenario"])],
        "retailers_changed": int(np.unique(both.loc[changed, "retailer_id"].to_numpy()).size),
    }
