"""What others do, to measure ourselves against: a spreadsheet's proportional split and a generic LP."""

from __future__ import annotations

import time

import numpy as np

from allocation.problem import Problem


def proportional_split(problem: Problem) -> np.ndarray:
    """Each short spec split in proportion to demand and floored, then each retailer over cap scaled down
    and floored: the usual spreadsheet, leftovers left on the shelf."""
    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    demand_b = np.bincount(b, weights=d, minlength=len(problem.supply)).astype(np.int64)
    short = (demand_b > problem.supply)[b]
    x = np.where(short, d * problem.supply[b] // np.maximum(demand_b[b], 1), d)
    total_r = np.bincount(r, weights=x, minlength=len(problem.cap)).astype(np.int64)
    over = (total_r > problem.cap)[r]
    return np.where(over, x * problem.cap[r] // np.maximum(total_r[r], 1), x)


def lp_allocation(problem: Problem, time_limit: float = 300.0) -> tuple[np.ndarray | None, dict]:
    """Maximal volume by a generic LP (HiGHS through scipy), one variable per line; no fairness at all.

    Returns (allocation or None when the time limit struck, solver facts)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_array, vstack

    r, b, d = problem.line_retailer, problem.line_spec, problem.line_demand
    n = len(d)
    if n == 0:
        return np.zeros(0, np.int64), {"status": "optimal", "seconds": 0.0}
    cols = np.arange(n)
    ones = np.ones(n)
    a_cap = csr_array((ones, (r, cols)), shape=(len(problem.cap), n))
    a_sup = csr_array((ones, (b, cols)), shape=(len(problem.supply), n))
    t0 = time.perf_counter()
    res = linprog(-ones, A_ub=vstack([a_cap, a_sup]).tocsr(),
                  b_ub=np.concatenate([problem.cap, problem.supply]).astype(float),
                  bounds=np.column_stack([np.zeros(n), d.astype(float)]), method="highs",
                  options={"time_limit": float(time_limit), "presolve": True})
    facts = {"status": "optimal" if res.status == 0 else "not finished" if res.status == 1 else res.message,
             "seconds": time.perf_counter() - t0}
    if res.status != 0 or res.x is None:
        return None, facts
    # the constraint matrix is a network matrix, so an optimal vertex is integral; round away float noise
    return np.clip(np.rint(res.x).astype(np.int64), 0, d), facts
