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
from dataclasses import asdict, dataclass, field
from functools import cmp_to_key

import numpy as np
import pandas as pd

from allocation.problem import Problem
from allocation.vocabulary import LINE_MAX

_KEY_BASE = 10**10 + 1  # above any reduced denominator w*d (in hundredths): 1,000,000 * 10,000
SOURCE, SINK = 0, 1


class SolverError(RuntimeError):
    """The solver produced something inconsistent: a defect, never a property of the input."""


@dataclass(frozen=True)
class GraphStats:
    """How much of the cycle the flow had to decide: the rest was fixed exactly before the graph was built."""

    lines_fixed_uncontested: int = 0
    lines_fixed_at_zero: int = 0
    lines_contested: int = 0
    lines_bundled: int = 0
    nodes: int = 0
    arcs: int = 0
    cost_levels: int = 0

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Solution:
    """Cartons per line in canonical order, with the size of the graph that decided them and the flow's time."""

    allocated: np.ndarray = field(repr=False)
    graph: GraphStats = field(default_factory=GraphStats)
    flow_seconds: float = 0.0


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
    """For runs of the given lengths: which run each element belongs to and its 0-based place in it (int32 when
    the total allows, since at province scale these arrays hold one element per carton)."""
    total = int(lengths.sum())
    kind = np.int32 if total < 2**31 and len(lengths) < 2**31 else np.int64
    owner = np.repeat(np.arange(len(lengths), dtype=kind), lengths)
    place = np.arange(total, dtype=kind)
    place -= np.repeat((np.cumsum(lengths) - lengths).astype(kind), lengths)
    return owner, place


class _Levels:
    """Every distinct (weight, demand) pair of the contested lines, with the exact rank of each carton's ratio."""

    def __init__(self, weight: np.ndarray, demand: np.ndarray):
        pair_key = weight * (LINE_MAX + 1) + demand
        codes, uniq = pd.factorize(pair_key)
        self.line_pair = codes.astype(np.int32 if len(uniq) < 2**31 else np.int64)
        self.w = uniq // (LINE_MAX + 1)
        self.d = uniq % (LINE_MAX + 1)
        self.offset = np.cumsum(self.d) - self.d
        owner, k0 = _segments(self.d)
        num = 100 * k0
        den = self.w[owner] * self.d[owner]
        g = np.gcd(num, den)
        self.p, self.q = num // g, den // g
        self.rank = exact_order(self.p, self.q).astype(np.int32)
        self.n_ranks = int(self.rank.max()) + 1 if len(self.rank) else 0
        rank_p = np.zeros(self.n_ranks, np.int64)
        rank_q = np.ones(self.n_ranks, np.int64)
        rank_p[self.rank], rank_q[self.rank] = self.p, self.q
        self.rank_p, self.rank_q = rank_p, rank_q


class _Bundle:
    """Lines hanging off one node each (a spec or a retailer): merged per ratio level, windowed by bounds."""

    def __init__(self, group: np.ndarray, pair: np.ndarray, levels: _Levels, low: np.ndarray, high: np.ndarray):
        self.group = group
        # the distinct (group, pair) entries, then one element per carton of each: E elements in all, the
        # largest arrays of the build, so each is freed as soon as the next step has what it needs
        tuniq, tcount = np.unique(group.astype(np.int64) * len(levels.d) + pair, return_counts=True)
        tgroup, tpair = tuniq // len(levels.d), tuniq % len(levels.d)
        owner, k0 = _segments(levels.d[tpair])
        erank = levels.rank[levels.offset[tpair][owner] + k0]
        del k0
        ekey = tgroup[owner] * max(levels.n_ranks, 1) + erank
        del erank
        weight = tcount.astype(np.int32)[owner]
        del owner
        order = np.argsort(ekey)  # equal keys merge below, so any order of ties will do
        skey = ekey[order]
        del ekey
        weight = weight[order]
        del order
        head = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]]) if len(skey) else np.zeros(0, np.int64)
        ukey = skey[head]
        del skey
        count = np.add.reduceat(weight, head, dtype=np.int64) if len(head) else np.zeros(0, np.int64)
        del weight
        self.egroup = (ukey // max(levels.n_ranks, 1)).astype(np.int32)
        self.erank = (ukey % max(levels.n_ranks, 1)).astype(np.int32)
        del ukey
        # cartons of the group below each level (before) and up to its end (after), then what bounds fix and free
        after = np.cumsum(count)
        first = np.r_[True, self.egroup[1:] != self.egroup[:-1]] if len(head) else np.zeros(0, bool)
        base = np.maximum.accumulate(np.where(first, after - count, 0)) if len(head) else after
        after -= base
        before = after - count
        del base, first
        lo, hi = low[self.egroup], high[self.egroup]
        # one element per level: int32 where every figure fits (a group's cartons), half the bytes through the solve
        kind = np.int32 if len(after) == 0 or int(after.max()) < 2**31 else np.int64
        self.count = count.astype(kind)
        del count
        self.fixed = np.clip(np.minimum(after, lo) - before, 0, None).astype(kind)
        self.window = np.clip(np.minimum(after, hi) - np.maximum(before, lo), 0, None).astype(kind)

    def distribute(self, flow: np.ndarray, weight: np.ndarray, demand: np.ndarray, levels: _Levels) -> np.ndarray:
        """Cartons per line: every level below the group's last one, then that level's ties in canonical order."""
        taken = self.fixed.astype(np.int64) + flow
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


class _Arcs:
    """Arrays of arcs appended in named blocks, so the flows of each block can be found again after the solve."""

    def __init__(self) -> None:
        self.blocks: dict[str, tuple[int, int]] = {}
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.n = 0

    def add(self, name: str, tails, heads, capacities, costs) -> None:
        self.blocks[name] = (self.n, self.n + len(tails))
        self.parts.append((tails, heads, capacities, costs))
        self.n += len(tails)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Tails and heads (int32), capacities and costs (int64), as the solver takes them; the blocks are let go."""
        parts, self.parts = self.parts, []
        return tuple(np.concatenate([np.asarray(p[i], kind) for p in parts])
                     for i, kind in enumerate((np.int32, np.int32, np.int64, np.int64)))

    def of(self, name: str, flows: np.ndarray) -> np.ndarray:
        start, stop = self.blocks[name]
        return flows[start:stop]


@dataclass
class ContestedGraph:
    """The flow network of the contested lines, and what decoding its flows back into cartons per line needs.

    Contested lines fall in three kinds: on a short spec at an uncapped retailer (they hang off the spec
    alone: `by_spec`), at a capped retailer for an ample spec (off the retailer alone: `by_retailer`), and
    both short and capped (`both`: one arc per carton between spec and retailer)."""

    at_zero: np.ndarray         # lines at 0 in every maximal allocation (the others not contested get their demand)
    lines: np.ndarray           # the contested lines (positions in canonical order)
    weight: np.ndarray          # their retailers' weights (hundredths) and their demand
    demand: np.ndarray
    by_spec: np.ndarray         # positions within `lines` of each kind
    by_retailer: np.ndarray
    both: np.ndarray
    carton_line: np.ndarray     # for each carton arc of `both`, its position within `both`
    levels: _Levels
    spec_bundle: _Bundle
    retailer_bundle: _Bundle
    spec_windows: np.ndarray    # the bundle levels that got an arc (the others are fixed or empty)
    retailer_windows: np.ndarray
    arcs: _Arcs
    stats: GraphStats


def build_graph(problem: Problem) -> ContestedGraph | None:
    """The contested part of the cycle as a flow network; None when nothing is contested (every line gets its demand)."""
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    supply, cap = problem.supply, problem.cap
    n_r, n_b = len(cap), len(supply)
    if len(d) == 0:
        return None
    short = (np.bincount(b, weights=d, minlength=n_b) > supply)[b]
    capped = (_sum_by_retailer(r, d, n_r) > cap)[r]
    index = np.int32 if len(d) < 2**31 else np.int64  # positions, kept for the decode: half the bytes
    lines = np.flatnonzero(short | capped).astype(index)
    if len(lines) == 0:
        return None
    ret, spec = r[lines], b[lines]
    weight, demand = problem.weight_cents[ret], d[lines]
    levels = _Levels(weight, demand)
    kind = short[lines].view(np.int8) + 2 * capped[lines].view(np.int8)
    by_spec, by_retailer = np.flatnonzero(kind == 1).astype(index), np.flatnonzero(kind == 2).astype(index)
    spec_group = np.bincount(spec[by_spec], weights=demand[by_spec], minlength=n_b).astype(np.int64)
    retailer_group = np.bincount(ret[by_retailer], weights=demand[by_retailer], minlength=n_r).astype(np.int64)
    # a short spec that uncapped retailers can absorb, at a retailer that ample specs can fill: always 0
    both = np.flatnonzero(kind == 3).astype(index)
    never = (supply <= spec_group)[spec[both]] & (retailer_group >= cap)[ret[both]]
    at_zero = lines[both[never]]
    both = both[~never]
    both_by_spec = np.bincount(spec[both], weights=demand[both], minlength=n_b).astype(np.int64)
    both_by_retailer = np.bincount(ret[both], weights=demand[both], minlength=n_r).astype(np.int64)
    spec_bundle = _Bundle(spec[by_spec], levels.line_pair[by_spec], levels,
                          np.clip(np.minimum(spec_group, supply - both_by_spec), 0, None),
                          np.minimum(spec_group, supply))
    retailer_bundle = _Bundle(ret[by_retailer], levels.line_pair[by_retailer], levels,
                              np.clip(np.minimum(retailer_group, cap - both_by_retailer), 0, None),
                              np.minimum(retailer_group, cap))

    # nodes: source, sink, then the specs and retailers that touch a line of kind `both`
    used_specs, used_retailers = np.unique(spec[both]), np.unique(ret[both])
    spec_node = np.full(n_b, -1, np.int64)
    spec_node[used_specs] = 2 + np.arange(len(used_specs))
    retailer_node = np.full(n_r, -1, np.int64)
    retailer_node[used_retailers] = 2 + len(used_specs) + np.arange(len(used_retailers))
    fixed_by_spec = np.bincount(spec_bundle.egroup, weights=spec_bundle.fixed, minlength=n_b).astype(np.int64)
    fixed_by_retailer = np.bincount(retailer_bundle.egroup, weights=retailer_bundle.fixed,
                                    minlength=n_r).astype(np.int64)
    carton_line, carton_k = _segments(demand[both])
    carton_cost = levels.rank[levels.offset[levels.line_pair[both][carton_line]] + carton_k]
    spec_windows = np.flatnonzero(spec_bundle.window > 0).astype(index)
    retailer_windows = np.flatnonzero(retailer_bundle.window > 0).astype(index)
    arcs = _Arcs()
    arcs.add("supply", np.full(len(used_specs), SOURCE), spec_node[used_specs],
             supply[used_specs] - fixed_by_spec[used_specs], np.zeros(len(used_specs)))
    arcs.add("cap", retailer_node[used_retailers], np.full(len(used_retailers), SINK),
             cap[used_retailers] - fixed_by_retailer[used_retailers], np.zeros(len(used_retailers)))
    arcs.add("cartons", spec_node[spec[both]][carton_line], retailer_node[ret[both]][carton_line],
             np.ones(len(carton_line)), carton_cost)
    arcs.add("spec_levels", spec_node[spec_bundle.egroup[spec_windows]], np.full(len(spec_windows), SINK),
             spec_bundle.window[spec_windows], spec_bundle.erank[spec_windows])
    arcs.add("retailer_levels", np.full(len(retailer_windows), SOURCE),
             retailer_node[retailer_bundle.egroup[retailer_windows]], retailer_bundle.window[retailer_windows],
             retailer_bundle.erank[retailer_windows])
    spec_bundle.window = retailer_bundle.window = None  # in the arcs now; the decode needs only fixed and count
    stats = GraphStats(lines_fixed_uncontested=int(len(d) - len(lines)), lines_fixed_at_zero=int(never.sum()),
                       lines_contested=len(both), lines_bundled=int(len(by_spec) + len(by_retailer)),
                       nodes=int(2 + len(used_specs) + len(used_retailers)), arcs=arcs.n,
                       cost_levels=int(levels.n_ranks))
    levels.line_pair = None  # in the bundles and the carton costs now
    # kept through the solve for the decode: weights (<= 1,000,000 hundredths) and line demand fit in int32
    return ContestedGraph(at_zero, lines, weight.astype(np.int32), demand.astype(np.int32), by_spec, by_retailer,
                          both, carton_line, levels, spec_bundle, retailer_bundle, spec_windows, retailer_windows,
                          arcs, stats)


def decode(problem: Problem, graph: ContestedGraph, flows: np.ndarray) -> np.ndarray:
    """Cartons per line from the flow on each arc: carton arcs count per line, bundle levels are shared out."""
    x = problem.line_demand.copy()
    x[graph.at_zero] = 0
    cartons = graph.arcs.of("cartons", flows)
    x[graph.lines[graph.both]] = np.bincount(graph.carton_line, weights=cartons,
                                             minlength=len(graph.both)).astype(np.int64)
    for bundle, members, windows, block in ((graph.spec_bundle, graph.by_spec, graph.spec_windows, "spec_levels"),
                                            (graph.retailer_bundle, graph.by_retailer, graph.retailer_windows,
                                             "retailer_levels")):
        level_flow = np.zeros(len(bundle.count), np.int64)
        level_flow[windows] = graph.arcs.of(block, flows)
        x[graph.lines[members]] = bundle.distribute(level_flow, graph.weight[members], graph.demand[members],
                                                    graph.levels)
    return x


def solve_lines(problem: Problem) -> Solution:
    """Allocated cartons per line (canonical order) by least-cost maximal flow on the contested part."""
    graph = build_graph(problem)
    if graph is None:
        return Solution(problem.line_demand.copy(), GraphStats(lines_fixed_uncontested=problem.n_lines))
    arrays = list(graph.arcs.arrays())
    tails, heads, capacities, _ = arrays
    if (tails < 0).any() or (heads < 0).any() or (capacities < 0).any():
        raise SolverError("an arc of the contested graph has no node or a negative capacity")
    del tails, heads, capacities
    from allocation.flow import least_cost_max_flow  # OR-Tools loads only where a flow is solved

    t0 = time.perf_counter()
    flows = least_cost_max_flow(arrays, SOURCE, SINK)  # takes the arrays, freed once OR-Tools holds its copy
    flow_seconds = time.perf_counter() - t0
    return Solution(decode(problem, graph, flows), graph.stats, flow_seconds)
