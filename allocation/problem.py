"""The validated inputs of one cycle, so the solver and the checks never see a row they would have to doubt."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocation.floors import floor_like
from allocation.rows import LINES_ATTR, MAX_SHOWN, Faults, RowFaults, Whole, flag_numbers, whole_numbers
from allocation.vocabulary import CAP_MAX, LINE_MAX, SUPPLY_MAX, WEIGHT_DECIMALS, WEIGHT_MAX, Channel, values

INPUTS = ("demand", "supply", "caps")
_CHANNEL_CELLS = (*values(Channel), "")  # a demand file's channel: one of them, or blank for retailer_stated
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ProblemError(RowFaults):
    """Every fault found in one cycle's inputs at once, so a user fixes a file in one pass, not fifty."""

    @property
    def errors(self) -> list[dict]:
        """The faults a person is shown, as plain dicts (the command line names each input by its path)."""
        return [{"input": f.file, "line": f.line, "column": f.column, "message": f.message}
                for f in self.faults[:MAX_SHOWN]]


def _columns(frame: pd.DataFrame, source: str, required: tuple[str, ...], bad: Faults) -> bool:
    missing = [c for c in required if c not in frame.columns]
    for c in missing:
        bad.add(source, 1, c, f"required column '{c}' is missing (expected columns: {', '.join(required)})")
    return not missing


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes into the sorted distinct values (-1 where missing); Arrow-backed text is encoded by Arrow, in C."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.array(s.array)
        encoded = pc.dictionary_encode(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text)
        # Arrow sorts UTF-8 bytewise, which is code point order: the order Python gives the same strings
        order = pc.sort_indices(encoded.dictionary).to_numpy()
        values = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
        rank = np.empty(len(values) + 1, np.int64)
        rank[order] = np.arange(len(values))
        rank[-1] = -1  # a missing cell's index is null, read below as -1
        return rank[encoded.indices.fill_null(-1).to_numpy()], values[order]
    codes, uniques = pd.factorize(s, sort=True)
    return codes, np.asarray(uniques, dtype=object)


def _ids(frame: pd.DataFrame, source: str, column: str, bad: Faults) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sorted unique identifiers of one id column; ids stay strings so leading zeros survive."""
    s = frame[column]
    missing = s.isna().to_numpy()
    if not (isinstance(s.dtype, pd.StringDtype) or s.dtype == object):
        s = s.astype(str)
    codes, uniques = _sorted_codes(s)
    blank = missing | (codes < 0)
    empty_at = np.flatnonzero(uniques == "")
    if len(empty_at):
        blank |= codes == empty_at[0]
    bad.rows(source, column, np.flatnonzero(blank), lambda i: f"{column} is empty")
    codes = np.where(blank, -1, codes)
    if len(uniques) and _CONTROL.search("".join(uniques.tolist())):
        ctrl = [k for k, u in enumerate(uniques.tolist()) if _CONTROL.search(u)]
        bad.rows(source, column, np.flatnonzero(np.isin(codes, ctrl)),
                 lambda i: f"{column} contains a control character")
    return codes, uniques


def _numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A text column's cells as floats (NaN where not a number) and which cells are empty."""
    text = s.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan), empty


def _whole(frame: pd.DataFrame, source: str, column: str, hi: int, bad: Faults,
           what: str = "quantity") -> np.ndarray:
    """Whole numbers in 0..hi; wrong values are reported and read as 0 so the other checks can go on."""
    values, kind = whole_numbers(frame[column], hi, decimals_ok=True)
    flag_numbers(bad, source, column, frame[column], kind, {
        Whole.EMPTY: f"{what} is empty",
        Whole.NOT_NUMBER: f"{what} '{{raw}}' is not a number",
        Whole.NOT_WHOLE: f"{what} {{raw}} is not a whole number of cartons",
        Whole.NEGATIVE: f"{what} {{raw}} is negative",
        Whole.ABOVE: f"{what} {{raw}} is above the maximum of {hi:,}",
    })
    return values


def _weights(frame: pd.DataFrame, bad: Faults) -> np.ndarray:
    """Weights in hundredths, so every fill-ratio comparison is exact integer arithmetic."""
    if "weight" not in frame.columns:
        return np.full(len(frame), 10**WEIGHT_DECIMALS, np.int64)
    s = frame["weight"]
    num, empty = _numbers(s)
    num = np.where(empty, 1.0, num)
    raw = s.to_numpy()
    scale = 10**WEIGHT_DECIMALS
    cents = np.round(num * scale)
    notnum = np.isnan(num)
    finite = np.isfinite(num)
    nonpos = finite & (num <= 0)
    decimals = finite & ~nonpos & (np.abs(num * scale - cents) > 1e-6 * np.maximum(1.0, num))
    big = (~finite & ~notnum) | (finite & (num > WEIGHT_MAX))
    bad.rows("caps", "weight", np.flatnonzero(notnum), lambda i: f"weight '{raw[i]}' is not a number")
    bad.rows("caps", "weight", np.flatnonzero(nonpos), lambda i: f"weight {raw[i]} must be above 0")
    bad.rows("caps", "weight", np.flatnonzero(decimals),
             lambda i: f"weight {raw[i]} has more than {WEIGHT_DECIMALS} decimals")
    bad.rows("caps", "weight", np.flatnonzero(big & ~decimals),
             lambda i: f"weight {raw[i]} is above the maximum of {WEIGHT_MAX:,}")
    ok = finite & ~nonpos & ~decimals & ~big
    return np.where(ok, cents, scale).astype(np.int64)


def _duplicates(key: np.ndarray, source: str, what, bad: Faults) -> np.ndarray:
    """Sort order of the keys, reporting each repeated key at its later line with the first line named.

    A negative key marks a row whose id is missing: that row is already reported, and is no duplicate."""
    if len(key) < 2 or bool(np.all(key[1:] > key[:-1])):
        return np.arange(len(key))
    order = np.argsort(key)  # equal keys are only ever reported, so an unstable sort serves the valid case
    sk = key[order]
    rep = np.flatnonzero((sk[1:] == sk[:-1]) & (sk[1:] >= 0)) + 1
    if len(rep):
        order = np.argsort(key, kind="stable")
        sk = key[order]
        rep = np.flatnonzero((sk[1:] == sk[:-1]) & (sk[1:] >= 0)) + 1
        run_start = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        first = order[run_start[np.searchsorted(run_start, rep, side="right") - 1]]
        later = order[rep]
        pick = np.argsort(later, kind="stable")
        firsts = dict(zip(later[pick].tolist(), first[pick].tolist()))
        bad.rows(source, None, later[pick],
                 lambda i: f"duplicate {what(i)} (first at line {bad.line(source, firsts[i])})")
    return order


def _renumbered(codes: np.ndarray, used: np.ndarray, n: int) -> np.ndarray:
    """Codes into `used` (sorted distinct codes), as int32: a gather, not a binary search per line."""
    new = np.zeros(n, np.int32)
    new[used] = np.arange(len(used), dtype=np.int32)
    return new[codes]


@dataclass(frozen=True)
class Problem:
    """One cycle as sorted arrays: retailers, specs and demand lines in canonical (retailer_id, brand_code) order."""

    retailer_ids: np.ndarray
    cap: np.ndarray
    weight_cents: np.ndarray
    brand_codes: np.ndarray
    supply: np.ndarray
    line_retailer: np.ndarray
    line_spec: np.ndarray
    line_demand: np.ndarray
    zero_lines: int = 0
    stats: dict = field(default_factory=dict, compare=False)

    @property
    def n_lines(self) -> int:
        return len(self.line_demand)

    @classmethod
    def from_frames(cls, demand: pd.DataFrame, supply: pd.DataFrame, caps: pd.DataFrame) -> Problem:
        """Validate the three frames together and report every fault (up to 50) with its file line."""
        started = time.perf_counter()
        bad = Faults(*INPUTS)
        for name, frame in zip(INPUTS, (demand, supply, caps), strict=True):
            if LINES_ATTR in frame.attrs:
                bad.number_lines(name, frame.attrs[LINES_ATTR])
        ok_d = _columns(demand, "demand", ("retailer_id", "brand_code", "quantity"), bad)
        ok_s = _columns(supply, "supply", ("brand_code", "quantity"), bad)
        ok_c = _columns(caps, "caps", ("retailer_id", "cap"), bad)
        floors = [c for c in caps.columns if floor_like(str(c).strip())]
        for c in floors:
            bad.add("caps", 1, str(c), f"column '{c}' would set a floor or a per-spec quantity; caps carry only "
                    "an upper limit on each retailer's total (total-quantity floating management, 总量浮动管理)")
        if not (ok_d and ok_s and ok_c):
            bad.raise_if_any(ProblemError)

        r, rids = _ids(demand, "demand", "retailer_id", bad)
        b, bcodes = _ids(demand, "demand", "brand_code", bad)
        d = _whole(demand, "demand", "quantity", LINE_MAX, bad)
        if "channel" in demand.columns:
            ch = demand["channel"].astype("string").fillna("")
            wrong = np.flatnonzero(~ch.isin(_CHANNEL_CELLS).to_numpy(dtype=bool))
            raw = ch.to_numpy()
            bad.rows("demand", "channel", wrong,
                     lambda i: f"channel '{raw[i]}' is neither retailer_stated nor collected")
        key = np.where((r >= 0) & (b >= 0), r.astype(np.int64) * max(len(bcodes), 1) + b, -1)
        order = _duplicates(key, "demand", lambda i: f"line for retailer {rids[r[i]]!r} and spec {bcodes[b[i]]!r}",
                            bad)

        sb, scodes = _ids(supply, "supply", "brand_code", bad)
        sq = _whole(supply, "supply", "quantity", SUPPLY_MAX, bad)
        _duplicates(sb.astype(np.int64), "supply", lambda i: f"spec {scodes[sb[i]]!r}", bad)

        cr, cids = _ids(caps, "caps", "retailer_id", bad)
        cq = _whole(caps, "caps", "cap", CAP_MAX, bad, what="cap")
        cw = _weights(caps, bad)
        _duplicates(cr.astype(np.int64), "caps", lambda i: f"retailer {cids[cr[i]]!r}", bad)

        live = order[(d[order] > 0) & (r[order] >= 0) & (b[order] >= 0)]
        lr, lb, ld = r[live], b[live], d[live]
        used_r = np.flatnonzero(np.bincount(lr, minlength=len(rids))) if len(lr) else np.empty(0, np.int64)
        used_b = np.flatnonzero(np.bincount(lb, minlength=len(bcodes))) if len(lb) else np.empty(0, np.int64)
        cap_pos = pd.Index(cids).get_indexer(rids[used_r]) if len(used_r) else np.empty(0, np.intp)
        if len(cap_pos) and (cap_pos < 0).any():
            missing = set(used_r[cap_pos < 0].tolist())
            first_row = {}
            for i in np.flatnonzero(np.isin(r, list(missing)) & (d > 0)).tolist():
                first_row.setdefault(int(r[i]), i)
            bad.rows("demand", "retailer_id", np.sort(np.fromiter(first_row.values(), np.int64)),
                     lambda i: f"retailer {rids[r[i]]!r} has demand but no row in the caps file")
        bad.raise_if_any(ProblemError)

        # each id's row (missing and repeated ids were refused above, so codes are unique and >= 0)
        row_of_cap = np.empty(len(cids), np.int64)
        row_of_cap[cr] = np.arange(len(cr))
        crow = row_of_cap[cap_pos]
        sup = np.zeros(len(used_b), np.int64)
        spos = pd.Index(bcodes[used_b]).get_indexer(scodes) if len(scodes) else np.empty(0, np.intp)
        hit = spos >= 0
        if hit.any():
            row_of_spec = np.empty(len(scodes), np.int64)
            row_of_spec[sb] = np.arange(len(sb))
            sup[spos[hit]] = sq[row_of_spec[np.flatnonzero(hit)]]
        return cls(
            retailer_ids=rids[used_r],
            cap=cq[crow].astype(np.int64),
            weight_cents=cw[crow].astype(np.int64),
            brand_codes=bcodes[used_b],
            supply=sup,
            line_retailer=_renumbered(lr, used_r, len(rids)),
            line_spec=_renumbered(lb, used_b, len(bcodes)),
            line_demand=ld.astype(np.int64, copy=False),
            zero_lines=int(len(d) - len(live)),
            stats={"validate_seconds": time.perf_counter() - started},
        )
