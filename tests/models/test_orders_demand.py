"""Import then read back: approved_demand equals the file's lines of counted orders, whatever the file's row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.orders import approve_order, approved_demand
from models.orders_import import import_orders
from models.users import Principal, create_user
from tests.worlds.orders import BRANDS, MANAGERS, RETAILERS, SUSPENDED, add_world


def random_file(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for rid in sorted(set(RETAILERS) - SUSPENDED):
        if rng.random() < 0.2:
            continue  # no order: no demand
        channel = "collected" if rng.random() < 0.5 else "retailer_stated"
        for b in rng.choice(BRANDS, size=rng.integers(0, len(BRANDS) + 1), replace=False):
            rows.append((rid, str(b), int(rng.integers(0, 50)), channel))
    return pd.DataFrame(rows, columns=["retailer_id", "brand_code", "quantity", "channel"])


def as_csv(frame: pd.DataFrame, rng: np.random.Generator) -> bytes:
    return frame.sample(frac=1, random_state=int(rng.integers(1 << 30))).to_csv(index=False).encode()


@pytest.mark.parametrize("seed", [3, 4])
def test_import_round_trip(session, company, seed):
    rng = np.random.default_rng(seed)
    cycle = add_world(session, company.id)["open"]
    admin_user, _ = create_user(session, company.id, "admin", name="admin")
    admin = Principal(admin_user.id, company.id, "admin", "admin")
    market = {mm: Principal(create_user(session, company.id, "market_manager", name=mm, manager_id=mm)[0].id,
                            company.id, "market_manager", mm, mm) for mm in set(MANAGERS.values())}
    first = random_file(rng)
    if first.empty:
        first = pd.DataFrame([("R1", "B1", 1, "collected")], columns=first.columns)
    got = import_orders(session, admin, str(cycle), as_csv(first, rng), max_lines=10)
    orders1 = first.groupby("retailer_id").size()
    assert (got["created"], got["replaced"], got["unchanged"], got["lines"]) == (len(orders1), 0, 0, len(first))
    # sign off about half of the collected orders
    collected = sorted(first.loc[first.channel == "collected", "retailer_id"].unique())
    signed = {r for r in collected if rng.random() < 0.5}
    for r in signed:
        approve_order(session, market[MANAGERS[RETAILERS[r]]], str(cycle), r, 1)
    frame, left = approved_demand(session, company.id, cycle)
    counted = first[(first.channel == "retailer_stated") | first.retailer_id.isin(signed)]
    expected = counted[["retailer_id", "brand_code", "quantity"]].sort_values(["retailer_id", "brand_code"])
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)
    assert left == [{"retailer_id": r, "version": 1, "manager_id": RETAILERS[r]} for r in collected if r not in signed]
    # a second file: change one order, keep one, add nothing new; the change clears its sign-off
    second = first.copy()
    changed = min(first.retailer_id.unique())
    second.loc[second.retailer_id == changed, "quantity"] += 1
    again = import_orders(session, admin, str(cycle), as_csv(second, rng), max_lines=10)
    has_lines = second.retailer_id == changed
    assert again["replaced"] == int(has_lines.any()) and again["created"] == 0
    assert again["unchanged"] == len(orders1) - again["replaced"]
    frame, left = approved_demand(session, company.id, cycle)
    signed.discard(changed)
    counted = second[(second.channel == "retailer_stated") | second.retailer_id.isin(signed)]
    assert sorted(frame.itertuples(index=False, name=None)) == sorted(
        counted[["retailer_id", "brand_code", "quantity"]].itertuples(index=False, name=None))
