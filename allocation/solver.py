"""Fair maximal allocation by integer min-cost flow, built only for the part of the cycle that is contested.

The model. Source -> spec b (capacity S[b]) -> line (r, b) -> retailer r (capacity C[r]) -> sink, with one
unit arc per carton: the k-th carton of line (r, b) costs g((k - 1) / (w[r] d[r, b])), where g is the rank
of that fill ratio among all distinct fill ratios of the contested lines. g is strictly increasing, so
costs are small integers (at most the number of distinct ratios) and compare exactly as the ratios do.
The flow is maximal first, then of least cost.

Why a fairness violation is a negative cycle. Suppose retailer i could take one more carton of b and
retailer j holds one with (x_j - 1)/(w_j d_j) > x_i/(w_i d_i). Moving it is the residual cycle
b -> i -> sink -> j -> b: it adds carton x_i + 1 of line i at cost g(x_i/(w_i d_i)) and removes carton x_j of
line j at cost g((x_j - 1)/(w_j d_j)), a strictly negative total, which a least-cost flow cannot have.
Within one retailer r, moving a carton from spec b2 to b1 (b1 has supply left) is the cycle
source -> b1 -> r -> b2 -> source with the same sign argument; w[r] is common to both lines, so the weighted
order there is the unweighted order the rule asks for. Volume is unchanged in both moves.

What is left out, and why that is exact. (1) A line whose spec has supply for all its demand and whose
retailer's order fits its cap gets its demand in every maximal allocation (else an augmenting path
exists). (2) A line of a short spec that the uncapped retailers alone can absorb, at a capped retailer
that its ample specs alone can fill, gets nothing in every maximal allocation: a carton there could go
to an uncapped line still wanting it while the retailer refills from an ample spec, one carton more.
(3) A spec with enough supply never binds, and a retailer under its cap never binds: lines of a short
spec at uncapped retailers hang off the spec alone and lines of a capped retailer for ample specs hang
off the retailer alone. Such a group is one bundle of parallel carton arcs; cartons of equal ratio merge
into one arc, and in every maximal flow the group carries at least min(group demand, capacity minus the
demand of the remaining contested lines): those cheapest cartons are fixed before the graph is built. So
the graph holds the contested lines (short spec, capped retailer) carton by carton plus, per bundle,
only the levels its contested neighbours could move. The least-cost flow of that graph is a least-cost
flow of the whole network, and ties inside a level go to lines in canonical order, so the result does
not depend on row order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cmp_to_key

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow

from allocation.certificate import REASONS, certify, reasons, require_passing
from allocation.problem import Problem
from allocation.vocabulary import LINE_MAX

_KEY_BASE = 10**10 + 1  # above any reduced denominator w*d (in hundredths): 1,000,000 * 10,000


class SolverError(RuntimeError):
    """The flow solver did not return an optimal flow: a defect, never a property of the input."""


@dataclass(frozen=True)
class AllocationResult:
    """What one run produced: rows to publish, the proof that goes with them, and where the time went."""

    allocations: pd.DataFrame
    certificate: dict
    timings: dict
    allocated: np.ndarray = field(repr=False)


def exact_order(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Dense ranks of the fractions p/q, exact even where two ratios are closer than a float can tell."""
    if len(p) == 0:
        return np.zeros(0, np.int64)
    keys = p * _KEY_BASE + q
    uniq, inv = np.unique(keys, return_inverse=True)
    up, uq = uniq // _KEY_BASE, uniq % _KEY_BASE
    order = np.argsort(up / uq, kind="stable")
    a, c = up[order], uq[order]
    if len(a) > 1 and not bool(np.all(a[:-1] * c[1:] < a[1:] * c[:-1])):
        pairs = [(int(x), int(y)) for x, y in zip(up.tolist(), uq.tolist())]
        order = np.array(sorted(range(len(pairs)), key=cmp_to_key(
            lambda i, j: pairs[i][0] * pairs[j][1] - pairs[j][0] * pairs[i][1])), dtype=np.int64)
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[inv.reshape(-1)]


def _segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of the given lengths: which run each element belongs to and its 0-based place in it."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return owner, np.arange(int(lengths.sum())) - np.repeat(starts, lengths)


class _Levels:
    """Every distinct (weight, demand) pair of the contested lines, with the exact rank of each carton's ratio."""

    def __init__(self, weight: np.ndarray, demand: np.ndarray):
        pair_key = weight * (LINE_MAX + 1) + demand
        codes, uniq = pd.factorize(pair_key)
        self.line_pair = codes.astype(np.int64)
        self.w = uniq // (LINE_MAX + 1)
        self.d = uniq % (LINE_MAX + 1)
        self.offset = np.cumsum(self.d) - self.d
        owner, k0 = _segments(self.d)
        num = 100 * k0
        den = self.w[owner] * self.d[owner]
        g = np.gcd(num, den)
        self.p, self.q = num // g, den // g
        self.rank = exact_order(self.p, self.q)
        self.n_ranks = int(self.rank.max()) + 1 if len(self.rank) else 0
        rank_p = np.zeros(self.n_ranks, np.int64)
        rank_q = np.ones(self.n_ranks, np.int64)
        rank_p[self.rank], rank_q[self.rank] = self.p, self.q
        self.rank_p, self.rank_q = rank_p, rank_q


class _Bundle:
    """Lines hanging off one node each (a spec or a retailer): merged per ratio level, windowed by bounds."""

    def __init__(self, group: np.ndarray, pair: np.ndarray, levels: _Levels, low: np.ndarray, high: np.ndarray):
        self.group = group
        tkey = group.astype(np.int64) * len(levels.d) + pair
        tcodes, tuniq = pd.factorize(tkey)
        tcount = np.bincount(tcodes, minlength=len(tuniq))
        tgroup, tpair = tuniq // len(levels.d), tuniq % len(levels.d)
        owner, k0 = _segments(levels.d[tpair])
        erank = levels.rank[levels.offset[tpair[owner]] + k0]
        ekey = tgroup[owner] * max(levels.n_ranks, 1) + erank
        order = np.argsort(ekey)  # equal keys merge below, so any order of ties will do
        skey = ekey[order]
        head = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]]) if len(skey) else np.zeros(0, np.int64)
        ukey = skey[head]
        self.count = np.add.reduceat(tcount[owner][order], head) if len(head) else np.zeros(0, np.int64)
        self.egroup = ukey // max(levels.n_ranks, 1)
        self.erank = ukey % max(levels.n_ranks, 1)
        after = np.cumsum(self.count)
        first = np.r_[True, self.egroup[1:] != self.egroup[:-1]] if len(ukey) else np.zeros(0, bool)
        base = np.maximum.accumulate(np.where(first, after - self.count, 0)) if len(ukey) else after
        self.before = after - self.count - base
        self.after = after - base
        lo, hi = low[self.egroup], high[self.egroup]
        self.fixed = np.clip(np.minimum(self.after, lo) - self.before, 0, None)
        self.window = np.clip(np.minimum(self.after, hi) - np.maximum(self.before, lo), 0, None)

    def distribute(self, flow: np.ndarray, weight: np.ndarray, demand: np.ndarray, levels: _Levels) -> np.ndarray:
        """Cartons per line: every level below the group's last one, then that level's ties in canonical order."""
        taken = self.fixed + flow
        short = taken < self.count
        n_groups = int(self.group.max()) + 1 if len(self.group) else 0
        first_short = np.full(n_groups, -1, np.int64)
        idx = np.flatnonzero(short)
        first_short[self.egroup[idx[::-1]]] = idx[::-1]
        fs = first_short[self.egroup]
        if ((fs >= 0) & (np.arange(len(taken)) > fs) & (taken > 0)).any():
            raise SolverError("a bundle filled a dearer level before a cheaper one")
        g = self.group
        thr = first_short[g]
        full = thr < 0
        t = np.where(full, 0, thr)
        p = levels.rank_p[self.erank[t]]
        q = levels.rank_q[self.erank[t]]
        z_num = p * weight * demand
        z_den = 100 * q
        below = np.minimum(demand, -(-z_num // z_den))
        at = ~full & (z_num % z_den == 0) & (z_num // z_den <= demand - 1)
        # ties at the partial level go to the first lines of the group in canonical order
        tied = np.flatnonzero(at)
        tied = tied[np.argsort(g[tied], kind="stable")]
        gt = g[tied]
        head = np.flatnonzero(np.r_[True, gt[1:] != gt[:-1]]) if len(gt) else np.zeros(0, np.int64)
        place = np.arange(1, len(tied) + 1) - np.repeat(head, np.diff(np.r_[head, len(tied)]))
        chosen = np.zeros(len(g), bool)
        chosen[tied] = place <= taken[t[tied]]
        return np.where(full, demand, below + chosen)


def _sum_by_retailer(r: np.ndarray, values: np.ndarray, n_r: int) -> np.ndarray:
    """Per-retailer sums; lines come sorted by retailer, so these are sums of runs (bincount otherwise)."""
    if len(r) and bool(np.all(r[1:] >= r[:-1])):
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        out = np.zeros(n_r, np.int64)
        out[r[starts]] = np.add.reduceat(values, starts)
        return out
    return np.bincount(r, weights=values, minlength=n_r).astype(np.int64)


def solve_lines(problem: Problem, stats: dict) -> np.ndarray:
    """Allocated cartons per line (canonical order) by least-cost maximal flow on the contested part."""
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    S, C, W = problem.supply, problem.cap, problem.weight_cents
    n_r, n_b = len(C), len(S)
    x = d.copy()
    if len(d) == 0:
        return x
    short = (np.bincount(b, weights=d, minlength=n_b) > S)[b]
    capped = (_sum_by_retailer(r, d, n_r) > C)[r]
    contested = np.flatnonzero(short | capped)
    stats["lines_fixed_uncontested"] = int(len(d) - len(contested))
    if len(contested) == 0:
        return x
    lw, ld = W[r[contested]], d[contested]
    levels = _Levels(lw, ld)
    c_cls = short[contested].view(np.int8) + 2 * capped[contested].view(np.int8)
    on_spec = np.flatnonzero(c_cls == 1)
    on_ret = np.flatnonzero(c_cls == 2)
    cr, cb = r[contested], b[contested]
    grp_b = np.bincount(cb[on_spec], weights=ld[on_spec], minlength=n_b).astype(np.int64)
    grp_r = np.bincount(cr[on_ret], weights=ld[on_ret], minlength=n_r).astype(np.int64)
    # a short spec that uncapped retailers can absorb, at a retailer that ample specs can fill: always 0
    core = np.flatnonzero(c_cls == 3)
    never = (S <= grp_b)[cb[core]] & (grp_r >= C)[cr[core]]
    x[contested[core[never]]] = 0
    core = core[~never]
    core_b = np.bincount(cb[core], weights=ld[core], minlength=n_b).astype(np.int64)
    core_r = np.bincount(cr[core], weights=ld[core], minlength=n_r).astype(np.int64)
    stats["lines_fixed_at_zero"] = int(never.sum())
    low_b = np.clip(np.minimum(grp_b, S - core_b), 0, None)
    low_r = np.clip(np.minimum(grp_r, C - core_r), 0, None)
    spec_bundle = _Bundle(cb[on_spec], levels.line_pair[on_spec], levels, low_b, np.minimum(grp_b, S))
    ret_bundle = _Bundle(cr[on_ret], levels.line_pair[on_ret], levels, low_r, np.minimum(grp_r, C))

    # nodes: 0 source, 1 sink, then specs and retailers that touch a contested line
    spec_node = np.full(n_b, -1, np.int64)
    used_b = np.unique(cb[core])
    spec_node[used_b] = 2 + np.arange(len(used_b))
    ret_node = np.full(n_r, -1, np.int64)
    used_r = np.unique(cr[core])
    ret_node[used_r] = 2 + len(used_b) + np.arange(len(used_r))
    fixed_b = np.bincount(spec_bundle.egroup, weights=spec_bundle.fixed, minlength=n_b).astype(np.int64)
    fixed_r = np.bincount(ret_bundle.egroup, weights=ret_bundle.fixed, minlength=n_r).astype(np.int64)

    core_pair = levels.line_pair[core]
    owner, k0 = _segments(ld[core])
    carton_cost = levels.rank[levels.offset[core_pair[owner]] + k0]
    sw = np.flatnonzero(spec_bundle.window > 0)
    rw = np.flatnonzero(ret_bundle.window > 0)
    parts = [
        (np.zeros(len(used_b), np.int64), spec_node[used_b], S[used_b] - fixed_b[used_b], np.zeros(len(used_b))),
        (ret_node[used_r], np.ones(len(used_r), np.int64), C[used_r] - fixed_r[used_r], np.zeros(len(used_r))),
        (spec_node[cb[core]][owner], ret_node[cr[core]][owner], np.ones(len(owner), np.int64), carton_cost),
        (spec_node[spec_bundle.egroup[sw]], np.ones(len(sw), np.int64), spec_bundle.window[sw],
         spec_bundle.erank[sw]),
        (np.zeros(len(rw), np.int64), ret_node[ret_bundle.egroup[rw]], ret_bundle.window[rw],
         ret_bundle.erank[rw]),
    ]
    sizes = [len(p[0]) for p in parts]
    tails, heads, caps, costs = (np.concatenate([p[i] for p in parts]) for i in range(4))
    if (tails < 0).any() or (heads < 0).any() or (caps < 0).any():
        raise SolverError("an arc of the contested graph has no node or a negative capacity")
    stats.update(lines_contested=len(core), lines_bundled=int(len(on_spec) + len(on_ret)),
                 nodes=int(2 + len(used_b) + len(used_r)), arcs=len(tails),
                 cost_levels=int(levels.n_ranks))
    flows = np.zeros(len(tails), np.int64)
    if len(tails):
        t0 = time.perf_counter()
        mcf = min_cost_flow.SimpleMinCostFlow()
        mcf.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                                 caps.astype(np.int64), costs.astype(np.int64))
        reach = int(caps[tails == 0].sum())
        mcf.set_node_supply(0, reach)
        mcf.set_node_supply(1, -reach)
        status = mcf.solve_max_flow_with_min_cost()
        if status != mcf.OPTIMAL:
            raise SolverError(f"min-cost flow ended with status {status}")
        flows = mcf.flows(np.arange(len(tails), dtype=np.int32)).astype(np.int64)
        stats["flow_seconds"] = time.perf_counter() - t0
    ends = np.cumsum(sizes)
    f_core = flows[ends[1]:ends[2]]
    f_spec = np.zeros(len(spec_bundle.count), np.int64)
    f_spec[sw] = flows[ends[2]:ends[3]]
    f_ret = np.zeros(len(ret_bundle.count), np.int64)
    f_ret[rw] = flows[ends[3]:ends[4]]
    core_x = np.bincount(owner, weights=f_core, minlength=len(core)).astype(np.int64)
    x[contested[core]] = core_x
    x[contested[on_spec]] = spec_bundle.distribute(f_spec, lw[on_spec], ld[on_spec], levels)
    x[contested[on_ret]] = ret_bundle.distribute(f_ret, lw[on_ret], ld[on_ret], levels)
    return x


def allocation_frame(problem: Problem, allocated: np.ndarray, reason_codes: np.ndarray) -> pd.DataFrame:
    """The published rows, ids as categoricals over the sorted ids so millions of rows stay light."""
    return pd.DataFrame({
        "retailer_id": pd.Categorical.from_codes(problem.line_retailer, categories=pd.Index(problem.retailer_ids)),
        "brand_code": pd.Categorical.from_codes(problem.line_spec, categories=pd.Index(problem.brand_codes)),
        "demanded": problem.line_demand,
        "allocated": allocated,
        "reason": pd.Categorical.from_codes(reason_codes, categories=list(REASONS)),
    })


def allocate(problem: Problem) -> AllocationResult:
    """Allocate one cycle: maximal volume, fair in both local senses, and certified by independent checks;
    raises CertificateFailed rather than return an allocation its certificate refuses."""
    t0 = time.perf_counter()
    stats: dict = {}
    x = solve_lines(problem, stats)
    t1 = time.perf_counter()
    cert = require_passing(certify(problem, x))
    t2 = time.perf_counter()
    frame = allocation_frame(problem, x, reasons(problem, x))
    t3 = time.perf_counter()
    flow = stats.pop("flow_seconds", 0.0)
    cert.update(stats)
    timings = {"validate": problem.stats.get("validate_seconds", 0.0), "build": (t1 - t0) - flow,
               "solve": flow, "certify": t2 - t1}
    timings["total"] = sum(timings.values()) + (t3 - t2)
    return AllocationResult(allocations=frame, certificate=cert, timings=timings, allocated=x)
