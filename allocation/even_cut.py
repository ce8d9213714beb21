"""The even cut of the `choice` priority: each order above its cap cut to the cap carton by carton, small lines first.

DOMAIN.md ("Volume first, or choice first"): the k-th carton of a line of demand d ranks (k - 1)/d, and a
retailer whose ordered total D exceeds its cap C keeps its C lowest-ranked cartons, ties going to the line
of the smaller `brand_code`; a retailer with D <= C keeps its order. So a line's first carton (rank 0)
comes before any line's second, and what is kept is close to C·d/D per line, rounded up for small lines.

Why no carton is ever listed. For a threshold t in [0, 1], the cartons of a line ranked below t number
ceil(t·d), so the retailer's count below t lies in [t·D, t·D + n) for n lines. At t_hi = C/D that count is
at least C: every kept carton ranks below t_hi. At t_lo = (C - n)/D it is below C: every carton ranked
below t_lo is kept. Between the two each line has at most n·d/D + 1 cartons, at most 2n per retailer in
all, and only those are ranked (exactly: distinct fractions of denominators up to 10,000 are distinct
doubles, and equal ones round alike) and cut in (rank, line) order. Everything is integer arithmetic on
arrays; the work is linear in the number of lines, whatever the quantities.
"""

from __future__ import annotations

import numpy as np


def _ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def even_cut(line_retailer: np.ndarray, line_demand: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Each line's demand after cutting every order above its cap evenly to the cap.

    Lines of one retailer tie in their index order: pass lines in canonical (retailer_id, brand_code)
    order, as `Problem` holds them, and ties go by `brand_code` whatever the order of the input rows."""
    r = np.asarray(line_retailer, dtype=np.intp)
    d = np.asarray(line_demand, dtype=np.int64)
    c = np.asarray(cap, dtype=np.int64)
    if (d < 0).any() or (c < 0).any():
        raise ValueError("demand and caps are whole cartons from 0")
    total = np.bincount(r, weights=d, minlength=len(c)).astype(np.int64)
    cut = d.copy()
    lines = np.flatnonzero(((total > c)[r]) & (d > 0))
    if len(lines) == 0:
        return cut
    lr, ld = r[lines], d[lines]
    n = np.bincount(lr, minlength=len(c)).astype(np.int64)
    big_c, big_d = c[lr], total[lr]
    below = _ceil_div(np.maximum(big_c - n[lr], 0) * ld, big_d)  # cartons ranked below t_lo: all kept
    upto = _ceil_div(big_c * ld, big_d)                        # cartons ranked below t_hi: the kept ones are among them
    left = c - np.bincount(lr, weights=below, minlength=len(c)).astype(np.int64)
    span = upto - below
    owner = np.repeat(np.arange(len(lines)), span)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(span) - span, span)
    rank = (below[owner] + step) / ld[owner]
    order = np.lexsort((owner, rank, lr[owner]))
    ret = lr[owner[order]]
    head = np.flatnonzero(np.r_[True, ret[1:] != ret[:-1]])
    place = np.arange(len(ret)) - np.repeat(head, np.diff(np.r_[head, len(ret)]))
    kept = owner[order][place < left[ret]]
    cut[lines] = below + np.bincount(kept, minlength=len(lines))
    return cut
