"""The one place OR-Tools is called: network flows on plain arrays of arcs, so nothing else knows its API."""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from allocation.solver import SolverError


def least_cost_max_flow(arcs: list[np.ndarray], source: int, sink: int) -> np.ndarray:
    """Flow on each arc of a maximum source-to-sink flow of least total cost (integer costs and capacities).

    arcs: [tails, heads, capacities, costs], emptied here, so the caller's arrays (a province's hundreds of
    megabytes) are freed once OR-Tools has copied them and do not sit beside the solver's own graph."""
    tails, heads, capacities, costs = arcs
    arcs.clear()
    n = len(tails)
    if n == 0:
        return np.zeros(0, np.int64)
    reach = int(capacities[tails == source].sum())  # no flow can exceed what leaves the source
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32, copy=False), heads.astype(np.int32, copy=False),
                                             capacities.astype(np.int64, copy=False), costs.astype(np.int64, copy=False))
    del tails, heads, capacities, costs
    mcf.set_node_supply(source, reach)
    mcf.set_node_supply(sink, -reach)
    status = mcf.solve_max_flow_with_min_cost()
    if status != mcf.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status}")
    return mcf.flows(np.arange(n, dtype=np.int32)).astype(np.int64, copy=False)


def max_flow_value(tails: np.ndarray, heads: np.ndarray, capacities: np.ndarray, source: int, sink: int) -> int:
    """The value of a maximum source-to-sink flow."""
    mf = max_flow.SimpleMaxFlow()
    mf.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), capacities.astype(np.int64))
    status = mf.solve(source, sink)
    if status != mf.OPTIMAL:
        raise SolverError(f"max flow ended with status {status}")
    return int(mf.optimal_flow())
