"""Checks of an allocation that share nothing with the solver, so a published run carries its own proof.

- feasible: whole cartons, 0 <= x <= d, each retailer within its cap, each spec within its supply;
- max_volume: the capacity of the cut left by the allocation's residual graph. Any cut bounds every
  allocation, so volume == cut proves the volume maximal; when they differ a maximum flow is computed
  from scratch (OR-Tools max flow on the whole network) and reported instead;
- fairness_violations: lines holding a carton that one of the two local rules would move, counted once
  per rule: between retailers of one spec (weighted ratios) and within one retailer across specs
  (unweighted). Ratios are compared exactly by integer cross-multiplication;
- short_lines, short_lines_at_zero, largest_shortfall: how the cut fell; the largest shortfall (cartons)
  counts only lines someone could have served (spec supply and retailer cap both above zero).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, TypeVar

import numpy as np

from allocation.problem import Problem
from allocation.vocabulary import Priority, Reason, values

FULL, NO_SUPPLY, CAP, SUPPLY = 0, 1, 2, 3
REASONS = values(Reason)  # the names of those codes, in the contract's words


@dataclass(frozen=True)
class Outcome:
    """What every certificate says of an allocation, whatever its priority: `volume`, `max_volume` and
    `fairness_violations` (the contract's names), the bounds it keeps and how the shortfall fell."""

    volume: int
    max_volume: int
    fairness_violations: int
    feasible: bool
    lines_out_of_bounds: int
    retailers_over_cap: int
    specs_over_supply: int
    lines: int
    demanded: int
    short_lines: int
    short_lines_at_zero: int
    largest_shortfall: int


@dataclass(frozen=True)
class Certificate(Outcome):
    """The proof a `volume` allocation carries: its volume proved maximal, and no carton a fairness rule would move."""

    max_volume_proof: str  # "cut" (the allocation's own residual cut) or "max_flow" (computed afresh)
    violations_between_retailers: int
    violations_within_retailer: int

    @property
    def passes(self) -> bool:
        """Whether it allows publishing: feasible, volume proved maximal, no fairness violation."""
        return self.feasible and not self.fairness_violations and self.volume == self.max_volume

    def as_json(self) -> dict:
        """The figures as plain JSON values, as a run stores and the API shows them; the volume priority's
        volume_policy_max is its own max_volume."""
        return {**asdict(self), "priority": Priority.VOLUME, "volume_policy_max": self.max_volume,
                "volume_cost": volume_cost(self.volume, self.max_volume)}


def volume_cost(volume: int, policy_max: int) -> float:
    """1 - volume / volume_policy_max: the share of the volume priority's maximum an allocation gives up."""
    return round(1 - volume / policy_max, 6) if policy_max else 0.0


def cartons_by(problem: Problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cartons per retailer and per spec; lines are sorted by retailer, so retailer sums are running sums."""
    r = problem.line_retailer
    by_r = np.zeros(len(problem.cap), np.int64)
    if len(x) and bool(np.all(r[1:] >= r[:-1])):
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        by_r[r[starts]] = np.add.reduceat(x, starts)
    elif len(x):
        by_r = np.bincount(r, weights=x, minlength=len(problem.cap)).astype(np.int64)
    by_b = np.bincount(problem.line_spec, weights=x, minlength=len(problem.supply)).astype(np.int64)
    return by_r, by_b


def reasons(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Why each line got less than asked, by the contract's precedence: full, no_supply, cap, supply."""
    by_r, _ = cartons_by(problem, x)
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    code = np.full(len(d), SUPPLY, np.int8)
    code[by_r[r] == problem.cap[r]] = CAP
    code[problem.supply[b] == 0] = NO_SUPPLY
    code[x == d] = FULL
    return code


def _group_order(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Stable order by group; a radix sort when group numbers fit in 16 bits."""
    if n_groups <= 1 << 16:
        return np.argsort(group.astype(np.uint16), kind="stable")
    return np.argsort(group, kind="stable")


def _exact_group_min(group: np.ndarray, num: np.ndarray, den: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the member with the least num/den (exactly), or -1 for an empty group."""
    best = np.full(n_groups, -1, np.int64)
    if len(group) == 0:
        return best
    order = _group_order(group, n_groups)
    gs, rs = group[order], (num / den)[order]
    head = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    seg = np.repeat(np.arange(len(head)), np.diff(np.r_[head, len(gs)]))
    at_min = np.flatnonzero(rs == np.minimum.reduceat(rs, head)[seg])
    first = at_min[np.r_[True, seg[at_min][1:] != seg[at_min][:-1]]]
    best[gs[first]] = order[first]
    # floats may misorder ratios closer than their precision: correct with exact cross-multiplication
    while True:
        c = best[group]
        smaller = num * den[c] < num[c] * den
        if not smaller.any():
            return best
        idx = np.flatnonzero(smaller)
        sub = idx[np.lexsort((num[idx] / den[idx], group[idx]))]
        gsub = group[sub]
        head = np.r_[True, gsub[1:] != gsub[:-1]]
        best[gsub[head]] = sub[head]


def _violations(group: np.ndarray, num: np.ndarray, den_of, taker: np.ndarray, n_groups: int) -> int:
    """Lines whose fill after giving one carton, (x-1)/den, is still above the least taker's x/den in the group."""
    t = np.flatnonzero(taker)
    num_t, den_t = num[t], den_of(t)
    best = _exact_group_min(group[t], num_t, den_t, n_groups)
    # (x-1)/den > min >= 0 needs x >= 2, and only groups with a taker can complain
    g = np.flatnonzero((num >= 2) & (best >= 0)[group])
    lo = best[group[g]]
    return int(np.count_nonzero((num[g] - 1) * den_t[lo] > num_t[lo] * den_of(g)))


def fairness_violations(problem: Problem, x: np.ndarray, totals: tuple) -> dict:
    """Both local fairness rules of the domain, vectorised over all lines."""
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    by_r, by_b = totals
    wants = x < d
    room = (by_r < problem.cap)[r]
    left = (by_b < problem.supply)[b]
    w = problem.weight_cents
    between = _violations(b, x, lambda i: w[r[i]] * d[i], wants & room, len(problem.supply))
    within = _violations(r, x, lambda i: d[i], wants & left, len(problem.cap))
    return {"between_retailers": between, "within_retailer": within}


def _residual_cut(problem: Problem, x: np.ndarray, by_r: np.ndarray, by_b: np.ndarray) -> tuple[int, bool]:
    """Capacity of the cut around what the source reaches in the residual graph, and whether the sink is reached."""
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    n_r, n_b = len(problem.cap), len(problem.supply)
    spec_in = by_b < problem.supply
    ret_in = np.zeros(n_r, bool)
    fwd = np.flatnonzero(x < d)
    fwd = fwd[_group_order(b[fwd], n_b)]
    f_start = np.searchsorted(b[fwd], np.arange(n_b + 1))
    by_ret = np.arange(len(r)) if bool(np.all(r[1:] >= r[:-1])) else np.argsort(r, kind="stable")
    r_start = np.searchsorted(r[by_ret], np.arange(n_r + 1))
    frontier = np.flatnonzero(spec_in)
    while len(frontier):
        lens = f_start[frontier + 1] - f_start[frontier]
        pos = np.repeat(f_start[frontier] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        hit = np.zeros(n_r, bool)
        hit[r[fwd[pos]]] = True
        new_r = np.flatnonzero(hit & ~ret_in)
        ret_in[new_r] = True
        lens = r_start[new_r + 1] - r_start[new_r]
        pos = by_ret[np.repeat(r_start[new_r] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))]
        pos = pos[x[pos] > 0]
        hit = np.zeros(n_b, bool)
        hit[b[pos]] = True
        frontier = np.flatnonzero(hit & ~spec_in)
        spec_in[frontier] = True
    sink = bool((by_r[ret_in] < problem.cap[ret_in]).any())
    crossing = spec_in[b] & ~ret_in[r]
    cut = int(problem.supply[~spec_in].sum() + problem.cap[ret_in].sum() + d[crossing].sum())
    return cut, sink


def max_flow_volume(problem: Problem) -> int:
    """The largest volume any allocation can reach, by a maximum flow on the part of the network that can bind.

    A spec is short when its lines want more than its supply, a retailer capped when its order is above its
    cap; any other spec or retailer never limits a flow, whatever the rest does. So (1) a line of a spec that
    is not short at a retailer that is not capped is full in every maximum flow (were it short, both its
    ends would have room: an augmenting path) and counts whole; (2) a line of a short spec at an uncapped
    retailer is an arc from its spec straight to the sink, and a line of a plentiful spec at a capped
    retailer an arc from the source straight to its retailer, merged per spec and per retailer; (3) only
    lines of a short spec at a capped retailer stay arcs of their own. The flow's value is unchanged."""
    n_r, n_b = len(problem.cap), len(problem.supply)
    if problem.n_lines == 0:
        return 0
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    short = (np.bincount(b, weights=d, minlength=n_b) > problem.supply)[b]
    capped = (np.bincount(r, weights=d, minlength=n_r) > problem.cap)[r]
    both = short & capped
    to_sink = np.bincount(b[short & ~capped], weights=d[short & ~capped], minlength=n_b).astype(np.int64)
    from_source = np.bincount(r[capped & ~short], weights=d[capped & ~short], minlength=n_r).astype(np.int64)
    src, sink = 0, 1
    spec = 2 + np.arange(n_b)
    ret = 2 + n_b + np.arange(n_r)
    tails = np.concatenate([np.full(n_b, src), spec[b[both]], spec, np.full(n_r, src), ret])
    heads = np.concatenate([spec, ret[r[both]], np.full(n_b, sink), ret, np.full(n_r, sink)])
    caps = np.concatenate([problem.supply, d[both], to_sink, from_source, problem.cap])
    keep = caps > 0
    from allocation.flow import max_flow_value  # OR-Tools only when the cut does not already prove the volume

    whole = int(d[~short & ~capped].sum())
    return whole + (max_flow_value(tails[keep], heads[keep], caps[keep], src, sink) if keep.any() else 0)


def feasibility(problem: Problem, x: np.ndarray, totals: tuple) -> dict:
    """Each hard limit, counted: lines out of 0..d, retailers over cap, specs over supply."""
    by_r, by_b = totals
    return {
        "lines_out_of_bounds": int(np.count_nonzero((x < 0) | (x > problem.line_demand))),
        "retailers_over_cap": int(np.count_nonzero(by_r > problem.cap)),
        "specs_over_supply": int(np.count_nonzero(by_b > problem.supply)),
    }


def whole_cartons(x) -> np.ndarray:
    """The allocation as int64, refusing anything that is not whole cartons."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError("allocated quantities must be whole cartons")
    return x.astype(np.int64)


def shortfalls(problem: Problem, x: np.ndarray) -> dict:
    """How the cut fell: lines, demand, short lines, lines at zero, the largest shortfall someone could serve."""
    d = problem.line_demand
    servable = (problem.supply[problem.line_spec] > 0) & (problem.cap[problem.line_retailer] > 0)
    return {"lines": len(d), "demanded": int(d.sum()), "short_lines": int(np.count_nonzero(x < d)),
            "short_lines_at_zero": int(np.count_nonzero(x == 0)),
            "largest_shortfall": int((d - x)[servable].max()) if servable.any() else 0}


def certify(problem: Problem, x: np.ndarray) -> Certificate:
    """The figures a published run must carry: volume against the maximum, feasibility, fairness, shortfalls."""
    x = whole_cartons(x)
    totals = cartons_by(problem, x)
    by_r, by_b = totals
    feas = feasibility(problem, x, totals)
    feasible = not any(feas.values())
    volume = int(x.sum())
    cut, sink = _residual_cut(problem, x, by_r, by_b)
    if feasible and not sink and cut == volume:
        max_volume, proof = cut, "cut"
    else:
        max_volume, proof = max_flow_volume(problem), "max_flow"
    fair = fairness_violations(problem, x, totals)
    return Certificate(
        volume=volume, max_volume=max_volume, fairness_violations=int(sum(fair.values())), feasible=feasible,
        max_volume_proof=proof, violations_between_retailers=fair["between_retailers"],
        violations_within_retailer=fair["within_retailer"], **feas, **shortfalls(problem, x),
    )


class Proof(Protocol):
    """What the gate needs of a certificate, whichever priority produced it."""

    @property
    def passes(self) -> bool: ...

    def as_json(self) -> dict: ...


P = TypeVar("P", bound=Proof)


class CertificateFailed(RuntimeError):
    """An allocation failed its own certificate: a defect of the engine, and nothing may be published from it."""

    def __init__(self, certificate: Proof):
        self.certificate = certificate
        super().__init__(f"the allocation failed its own certificate: {certificate.as_json()}")


def require_passing(cert: P) -> P:
    """The certificate, or CertificateFailed: the one gate before any allocation is written anywhere."""
    if not cert.passes:
        raise CertificateFailed(cert)
    return cert
