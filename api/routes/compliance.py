"""What auditors check beyond accuracy: self-submission, identical-order clusters, cap moves, value per carton and
key-brand share per account manager, and the compliance policy that sets the cluster thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from allocation.compliance import COLUMNS, CompliancePolicy
from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import ManagerFilter, PERIOD_RULE, PeriodEnd, PeriodStart, text_filter
from api.schemas_compliance import ClusterPage, CompliancePage, CompliancePolicyOut
from models import compliance
from models.cycles import ReportQuery
from models.pagination import frame_page, frame_records
from models.users import Principal

router = APIRouter(tags=["compliance"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
PolicyReader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR))]
Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.AUDITOR, Role.MARKET_MANAGER))]

COUNTING = """Definitions: DOMAIN.md "What auditors check beyond accuracy"; the README's section on compliance.

* One cycle (`cycle_id`, which must be `closed` or `published`: 409 `cycle_state` otherwise, its orders are not
  final), or a range (`from`, `to`: dates): the closed or published cycles whose start date falls in
  [from, to], pooled: counts and cartons are added over the cycles, rates recomputed from the sums, never
  averaged. Cycles of the range not yet closed are listed in `cycles_not_closed`.
* An *order* is a retailer's current order in the cycle with a total above 0 (an order of total 0 is no order);
  lines of quantity 0 are ignored everywhere. Its manager is the retailer's current account manager.
* `no_order_retailers`: his retailers whose status is `active` now and that have no order in the cycle,
  every-other-week orderers included in their off weeks; over a range, summed over the cycles.
* `cap_moves`, `cartons_moved`: the approved cap adjustments of the cycle, counted for the manager who
  proposed them.
* Value per carton (单条均价) is in 元 at today's `wholesale_price`, rounded half up to the fen;
  `value_per_carton_change` is computed from the exact values and rounded half away from zero to 2 decimals.
  Demand: retailer-stated orders and collected orders approved at their current version (the run's demand).
  Allocated: the published run (null before publishing; over a range, the published cycles). Last year: loaded
  history of his current retailers (whatever their status) in the weeks whose Monday falls in
  [start_date − 364 days, end_date − 364 days], specs missing from the brand master skipped; null unless each of
  those weeks has history loaded (any row of the company; a history period is an ISO week like `2025-W47` or any
  date of that week) and the window holds a Monday. Over a range, last year pools the cycles that have a
  last-year value, and the change compares the two pooled values.
* Rows: every manager with a retailer now (any status) or an approved cap adjustment in the period, one row each
  even without orders. Auditor and admin also get the company row first (`manager_id` null: the sum of every
  manager's sums), except when `manager_id` is given; a market manager gets his team's rows only. A `manager_id`
  outside the caller's scope gives an empty list.
* `policy_version`: the compliance policy in force, whose `min_cluster` and `min_lines` found the clusters."""


class ComplianceParams:
    """The filters the figures, their CSV and the clusters share."""

    def __init__(self,
                 cycle_id: text_filter(f"one cycle; {PERIOD_RULE}") = None,
                 date_from: PeriodStart = None,
                 date_to: PeriodEnd = None,
                 manager_id: ManagerFilter = None):
        self.query = ReportQuery(cycle_id, date_from, date_to, manager_id)


ParamsDep = Annotated[ComplianceParams, Depends()]
ROW_KEYS = ["period", "sort_key"]
NOT_FINAL = {409: {"description": "the cycle is not closed or published yet (cycle_state)"}}
CLUSTER_KEYS = ["cycle_id", "manager_id", "first_retailer_id"]


@router.get("/v1/compliance", response_model=CompliancePage, response_model_by_alias=True, description=COUNTING,
            responses=NOT_FINAL)
def get_compliance(session: SessionDep, principal: Reader, params: ParamsDep, paging: PageDep):
    """Compliance figures per account manager (and the company) for a cycle or pooled over a range."""
    result = compliance.figures(session, principal, params.query)
    shown, nxt = frame_page(result.rows, ROW_KEYS, paging.cursor, paging.limit)
    q = params.query
    return CompliancePage(items=frame_records(shown.drop(columns="sort_key")), next_cursor=nxt,
                          policy_version=result.policy_version, cycle_ids=result.cycle_ids,
                          cycles_not_closed=result.cycles_not_closed, date_from=q.date_from, date_to=q.date_to)


@router.get("/v1/compliance.csv", response_class=Response, description=COUNTING + "\n\nEvery row in scope; empty "
            "figures are empty cells, and so is the company row's `manager_id`.",
            responses={200: {"content": {"text/csv": {}}, "description": "compliance.csv"}, **NOT_FINAL})
def get_compliance_csv(session: SessionDep, principal: Reader, params: ParamsDep):
    """The same figures as a CSV file, for auditors' spreadsheets."""
    rows = compliance.figures(session, principal, params.query).rows
    body = rows[[*COLUMNS, "policy_version"]].to_csv(index=False, lineterminator="\n", na_rep="")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="compliance.csv"'})


@router.get("/v1/compliance/clusters", response_model=ClusterPage, responses=NOT_FINAL,
            description="""Identical-order clusters.

Two orders are identical when their sets of (spec, quantity) lines with quantity > 0 are equal. A cluster is a
group of at least `min_cluster` identical orders of one manager's retailers (by their current manager) in one
cycle, each with at least `min_lines` lines of quantity > 0, searched among the current versions of all his
orders (total above 0), both channels, approved or not. Matching is exact: orders differing in one quantity are
not identical, and identical orders of two managers' retailers are no cluster. A signal for an auditor to look
at, never a verdict. `cycle_id` (closed or published, else 409), or `from` and `to` for the cycles of a range;
clusters never span cycles. Sorted by cycle, manager and first retailer; `retailer_ids` sorted, `lines` by
spec. Same scope as `GET /v1/compliance`.""")
def get_clusters(session: SessionDep, principal: Reader, params: ParamsDep, paging: PageDep):
    """The identical-order clusters of a cycle, with their retailers and lines."""
    result = compliance.cluster_rows(session, principal, params.query)
    shown, nxt = frame_page(result.rows, CLUSTER_KEYS, paging.cursor, paging.limit)
    items = [{"cycle_id": r["cycle_id"], "manager_id": r["manager_id"], "size": int(r["size"]),
              "lines": r["lines"], "retailer_ids": r["retailer_ids"]} for r in shown.to_dict("records")]
    return ClusterPage(items=items, next_cursor=nxt, policy_version=result.policy_version,
                       min_cluster=result.policy.min_cluster, min_lines=result.policy.min_lines, cycle_ids=result.cycle_ids,
                       cycles_not_closed=result.cycles_not_closed)


@router.get("/v1/compliance-policy", response_model=CompliancePolicyOut)
def get_policy(session: SessionDep, principal: PolicyReader):
    """The cluster thresholds in force (a fresh company starts at version 1: min_cluster 3, min_lines 3)."""
    return compliance.current_policy(session, principal.company_id)


@router.put("/v1/compliance-policy", response_model=CompliancePolicyOut)
def put_policy(body: CompliancePolicy, session: SessionDep, principal: Admin):
    """Adopt new thresholds as a new version (old versions stay; the change is audited); an identical body keeps
    the current version. A field left out takes its default."""
    return compliance.put_policy(session, principal, body)
