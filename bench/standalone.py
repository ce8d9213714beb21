"""A proportional split as a user would write it alone: pandas only, nothing shared with the project.

    python bench/standalone.py DEMAND SUPPLY CAPS OUT

Reads the three CSVs with `pd.read_csv`, gives each short spec's supply out in proportion to demand (floored),
scales each retailer over its cap down (floored), and writes the rows with `to_csv`. The bench runs it as a
command of its own, as the baseline a user would compare `tobacco-alloc allocate` with.
"""

import sys

import numpy as np
import pandas as pd


def main(demand_path: str, supply_path: str, caps_path: str, out_path: str) -> None:
    ids = {"retailer_id": str, "brand_code": str}
    demand = pd.read_csv(demand_path, dtype=ids)
    supply = pd.read_csv(supply_path, dtype=ids).set_index("brand_code")["quantity"]
    caps = pd.read_csv(caps_path, dtype=ids).set_index("retailer_id")["cap"]

    wanted = demand.groupby("brand_code")["quantity"].transform("sum")
    available = demand["brand_code"].map(supply).fillna(0)
    share = np.where(wanted > available, available / wanted, 1.0)
    allocated = np.floor(demand["quantity"] * share)
    taken = allocated.groupby(demand["retailer_id"]).transform("sum")
    cap = demand["retailer_id"].map(caps)
    trim = np.where(taken > cap, cap / taken, 1.0)
    demand["allocated"] = np.floor(allocated * trim).astype("int64")
    demand.to_csv(out_path, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:5])
