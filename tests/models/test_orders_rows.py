"""Demand row checks against a plain-Python oracle, and order fingerprints that ignore line order."""

from __future__ import annotations

import json
import re
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.orders import body_digest
from models.orders_import import BadRows, check_rows, per_order

RETAILERS = pd.DataFrame({"retailer_id": ["R1", "R2", "R5"], "status": ["active", "active", "suspended"]})
BRANDS = {"B1", "B2", "B3"}
MAX_LINES = 3
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

rid = st.sampled_from(["R1", "R2", "R5", "RX", "", " R1 ", "R\x01"])
code = st.sampled_from(["B1", "B2", "B3", "BX", "", "B\x7f", " B2"])
qty = st.sampled_from(["0", "5", "10000", "10001", "-1", "2.5", "", " 7 ", "abc", "00012"])
chan = st.sampled_from(["", "collected", "retailer_stated", "bad", " collected"])
row = st.tuples(rid, code, qty, chan)


def oracle(rows: list[tuple[str, str, str, str]], with_channel: bool) -> Counter:
    """Every (line, column) at fault, found one row at a time the obvious way."""
    status = dict(zip(RETAILERS.retailer_id, RETAILERS.status))
    out: Counter = Counter()
    seen: set = set()
    first_channel: dict = {}
    per_retailer = Counter(r.strip() for r, *_ in rows)
    flagged_over: set = set()
    for i, (r, b, q, ch) in enumerate(rows):
        line = i + 2
        ch = ch if with_channel else ""
        r, b, c = r.strip(), b.strip(), (ch.strip() or "retailer_stated")
        for col, raw in (("retailer_id", rows[i][0]), ("brand_code", rows[i][1]), ("quantity", rows[i][2]),
                         ("channel", ch if with_channel else "")):
            if CONTROL.search(raw):
                out[(line, col)] += 1
        if r == "":
            out[(line, "retailer_id")] += 1
        if b == "":
            out[(line, "brand_code")] += 1
        if not re.fullmatch(r"\s*\d{1,9}\s*", q) or int(q) > 10_000:
            out[(line, "quantity")] += 1
        if c not in ("retailer_stated", "collected"):
            out[(line, "channel")] += 1
        if r and r not in status:
            out[(line, "retailer_id")] += 1
        if status.get(r) == "suspended":
            out[(line, "retailer_id")] += 1
        if b and b not in BRANDS:
            out[(line, "brand_code")] += 1
        if r and b and (r, b) in seen:
            out[(line, "brand_code")] += 1
        seen.add((r, b))
        if c != first_channel.setdefault(r, c):
            out[(line, "channel")] += 1
        if per_retailer[r] > MAX_LINES and r not in flagged_over:
            out[(line, "retailer_id")] += 1
        flagged_over.add(r)
    return out


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=12), with_channel=st.booleans())
def test_row_checks_match_oracle(rows, with_channel):
    data = {"retailer_id": [r[0] for r in rows], "brand_code": [r[1] for r in rows],
            "quantity": [r[2] for r in rows]}
    if with_channel:
        data["channel"] = [r[3] for r in rows]
    expected = oracle(rows, with_channel)
    try:
        clean = check_rows(pd.DataFrame(data), RETAILERS, BRANDS, MAX_LINES)
    except BadRows as exc:
        got = Counter((e["line"], e["column"]) for e in exc.extra["errors"])
        assert got == expected and exc.extra["error_count"] == sum(expected.values())
        return
    assert not expected
    assert clean["quantity"].tolist() == [int(r[2]) for r in rows]


@settings(max_examples=100, deadline=None)
@given(lines=st.dictionaries(st.sampled_from(sorted(BRANDS) + ["B4", "B10"]), st.integers(0, 10_000),
                             min_size=0, max_size=5), channel=st.sampled_from(["retailer_stated", "collected"]),
       data=st.data())
def test_fingerprint_ignores_order_and_sees_every_change(lines, channel, data):
    pairs = list(lines.items())
    shuffled = data.draw(st.permutations(pairs))
    assert body_digest(channel, pairs) == body_digest(channel, shuffled)
    other = "collected" if channel == "retailer_stated" else "retailer_stated"
    assert body_digest(other, pairs) != body_digest(channel, pairs)
    if pairs:
        b, q = pairs[0]
        assert body_digest(channel, [(b, q + 1)] + pairs[1:]) != body_digest(channel, pairs)
        assert body_digest(channel, pairs[1:]) != body_digest(channel, pairs)


@pytest.mark.parametrize("seed", [1, 2])
def test_per_order_folds_lines_whatever_the_row_order(seed):
    frame = pd.DataFrame({"retailer_id": ["R2", "R1", "R2", "R1", "R3"], "brand_code": ["B2", "B1", "B1", "B3", "B1"],
                          "quantity": [4, 1, 6, 0, 9], "channel": ["collected"] * 2 + ["collected"] + ["x"] * 2})
    frame.loc[frame.retailer_id == "R1", "channel"] = "retailer_stated"
    frame.loc[frame.retailer_id == "R3", "channel"] = "retailer_stated"
    lines, orders = per_order(frame.sample(frac=1, random_state=seed))
    assert orders["retailer_id"].tolist() == ["R1", "R2", "R3"] and orders["total"].tolist() == [1, 10, 9]
    assert json.loads(orders["lines"].tolist()[1]) == [{"brand_code": "B1", "quantity": 6},
                                                       {"brand_code": "B2", "quantity": 4}]
    assert orders["digest"].tolist()[1] == body_digest("collected", [("B2", 4), ("B1", 6)])
    assert lines["retailer_id"].tolist() == ["R1", "R1", "R2", "R2", "R3"]


@settings(max_examples=100, deadline=None)
@given(orders=st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=6),
    st.tuples(st.sampled_from(["retailer_stated", "collected"]),
              st.dictionaries(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=5),
                              st.integers(0, 10_000), min_size=1, max_size=6)),
    min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_bulk_fingerprint_and_json_equal_the_single_order_ones(orders, seed):
    """The import's folded text gives the same fingerprint as a PUT of the same body, and JSON of the same lines."""
    frame = pd.DataFrame([(r, b, q, ch) for r, (ch, lines) in orders.items() for b, q in lines.items()],
                         columns=["retailer_id", "brand_code", "quantity", "channel"])
    _, folded = per_order(frame.sample(frac=1, random_state=seed))
    assert sorted(folded["retailer_id"]) == sorted(orders)
    for rid, ch, digest, total, text in folded[["retailer_id", "channel", "digest", "total", "lines"]].itertuples(
            index=False, name=None):
        want_ch, lines = orders[rid]
        assert ch == want_ch and total == sum(lines.values())
        assert digest == body_digest(want_ch, list(lines.items()))
        assert json.loads(text) == [{"brand_code": b, "quantity": q} for b, q in sorted(lines.items())]
