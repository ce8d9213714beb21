"""The `choice` priority (零售客户有所选择): cut capped orders evenly, allocate them, then refill what is left.

DOMAIN.md ("Volume first, or choice first"). Volume first lets a capped retailer fill its cap with plentiful
specs while the scarce ones it asked for go to others. Choice first (1) cuts each order above its cap evenly
to the cap (allocation.even_cut), (2) allocates the cut orders by the `volume` definition, where caps no
longer bind, and (3) allocates each retailer's unused cap room and each spec's supply left over the lines'
remaining demand, again by the `volume` definition. The allocation is step 2 + step 3.

Each step is an ordinary instance of the volume engine and is certified on its own (maximal, fair,
feasible) before the next starts; the sum is checked feasible against the original caps and supply; and
the volume priority's maximum on the original instance is computed afresh and reported beside the volume,
so the cost of choice is always in view. Every short line still has a reason: were its retailer under its
cap and its spec not used up, step 3 would not be maximal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from allocation.certificate import (
    Certificate,
    Outcome,
    cartons_by,
    certify,
    feasibility,
    max_flow_volume,
    require_passing,
    shortfalls,
    volume_cost,
    whole_cartons,
)
from allocation.even_cut import even_cut
from allocation.problem import Problem
from allocation.solver import GraphStats, Solution
from allocation.vocabulary import Priority


@dataclass(frozen=True)
class ChoiceCertificate(Outcome):
    """The proof of a `choice` allocation. `max_volume` is the most cartons any feasible allocation gives (the
    volume priority's, = `volume_policy_max`); `fairness_violations` are the steps', each on its own instance."""

    volume_policy_max: int
    volume_cost: float
    cut_cartons: int  # demand the even cut removed from orders above their caps
    cut: Certificate  # step 2: the cut orders, on the original caps and supply
    refill: Certificate  # step 3: the demand left, on the cap room and supply left
    max_volume_proof: str = "max_flow"

    @property
    def passes(self) -> bool:
        """Both steps maximal, fair and feasible on their own instances, and the sum feasible on the original."""
        return (self.feasible and self.cut.passes and self.refill.passes
                and self.volume == self.cut.volume + self.refill.volume <= self.volume_policy_max)

    def as_json(self) -> dict:
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("cut", "refill")}
        return {"priority": Priority.CHOICE, **flat, "steps": {"cut": self.cut.as_json(), "refill": self.refill.as_json()}}


def restricted(problem: Problem, demand: np.ndarray, cap: np.ndarray, supply: np.ndarray) -> tuple[Problem, np.ndarray]:
    """The same retailers and specs with other demand, caps and supply, and which lines it keeps (those above 0)."""
    keep = np.flatnonzero(demand > 0)
    sub = replace(problem, line_retailer=problem.line_retailer[keep], line_spec=problem.line_spec[keep],
                  line_demand=demand[keep].astype(np.int64), cap=cap.astype(np.int64),
                  supply=supply.astype(np.int64), zero_lines=0, stats={})
    return sub, keep


def _graphs(a: GraphStats, b: GraphStats) -> GraphStats:
    """Both steps' graphs together (their sizes added)."""
    return GraphStats(**{k: v + asdict(b)[k] for k, v in asdict(a).items()})


class ChoiceFirst:
    """One `choice` allocation through the engine: `solve` runs and certifies both steps, `check` the whole.

    `step` is the volume engine's solve (allocation.solver.solve_lines); the engine calls `check` only after
    `solve`, so the steps' certificates are at hand."""

    def __init__(self, step):
        self.step = step
        self.steps: tuple[Certificate, Certificate] | None = None
        self.cut_cartons = 0

    def solve(self, problem: Problem) -> Solution:
        d = problem.line_demand
        cut = even_cut(problem.line_retailer, d, problem.cap)
        self.cut_cartons = int((d - cut).sum())
        first, kept = restricted(problem, cut, problem.cap, problem.supply)
        one = self.step(first)
        cert_one = require_passing(certify(first, one.allocated))
        x = np.zeros(len(d), np.int64)
        x[kept] = one.allocated
        by_r, by_b = cartons_by(problem, x)
        second, kept = restricted(problem, d - x, problem.cap - by_r, problem.supply - by_b)
        two = self.step(second)
        cert_two = require_passing(certify(second, two.allocated))
        x[kept] += two.allocated
        self.steps = (cert_one, cert_two)
        return Solution(x, _graphs(one.graph, two.graph), one.flow_seconds + two.flow_seconds)

    def check(self, problem: Problem, x: np.ndarray) -> ChoiceCertificate:
        if self.steps is None:
            raise RuntimeError("the choice allocation is checked after it is solved")
        x = whole_cartons(x)
        feas = feasibility(problem, x, cartons_by(problem, x))
        volume, policy_max = int(x.sum()), max_flow_volume(problem)
        cut, refill = self.steps
        return ChoiceCertificate(
            volume=volume, max_volume=policy_max, volume_policy_max=policy_max,
            volume_cost=volume_cost(volume, policy_max),
            fairness_violations=cut.fairness_violations + refill.fairness_violations,
            feasible=not any(feas.values()), **feas, **shortfalls(problem, x), cut_cartons=self.cut_cartons,
            cut=cut, refill=refill)
