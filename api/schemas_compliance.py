"""Compliance figures, clusters and the compliance policy as callers see them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from allocation.compliance import CompliancePolicy
from api.schemas import IdOut, PolicyVersionOut

RATE = "null when its denominator is 0"


class CompliancePolicyOut(PolicyVersionOut):
    params: CompliancePolicy = Field(description="the thresholds in force (the body of PUT /v1/compliance-policy)")


class ComplianceRowOut(BaseModel):
    manager_id: str | None = Field(description="the account manager; null on the company row (the sum of all)")
    period: str = Field(description="the cycle id, or the range label 'from..to'")
    orders: int = Field(description="current orders with a total above 0 of his retailers")
    retailer_stated: int
    collected: int = Field(description="collected_approved + collected_left_out")
    collected_approved: int = Field(description="collected orders approved at their current version")
    collected_left_out: int = Field(description="collected orders not approved at their current version")
    no_order_retailers: int = Field(description="his retailers active now with no order (summed over cycles)")
    self_submission_rate: float | None = Field(description=f"retailer_stated / orders; {RATE}")
    self_submission_volume_rate: float | None = Field(description=f"retailer-stated cartons / all cartons; {RATE}")
    orders_in_clusters: int = Field(description="orders in identical-order clusters")
    cluster_share: float | None = Field(description=f"orders_in_clusters / orders; {RATE}")
    cap_moves: int = Field(description="approved cap adjustments he proposed for the cycle")
    cartons_moved: int = Field(description="the sum of their moves' quantities")
    value_per_carton_demand: float | None = Field(description="元 per carton of the orders entering the run, at "
                                                              "today's wholesale prices, rounded to the fen")
    value_per_carton_allocated: float | None = Field(description="the same over the published allocation; null "
                                                                 "before publishing")
    value_per_carton_last_year: float | None = Field(description="the same over the year-ago weeks' history; null "
                                                                 "unless every week of the window is loaded")
    value_per_carton_change: float | None = Field(description="(demand ÷ last year − 1) × 100, 2 decimals")
    key_share_demand: float | None = Field(description=f"key-spec cartons / all cartons entering the run; {RATE}")
    key_share_allocated: float | None = Field(description=f"the same over the published allocation; {RATE}")
    policy_version: int = Field(description="the compliance policy version the clusters were found with")


class CompliancePage(BaseModel):
    items: list[ComplianceRowOut]
    next_cursor: str | None = None
    policy_version: int
    cycle_ids: list[str] = Field(description="the cycles reported (closed or published)")
    cycles_not_closed: list[str] = Field(
        default_factory=list, description="cycles in the range left out because their orders are not final yet")
    date_from: date | None = Field(default=None, serialization_alias="from")
    date_to: date | None = Field(default=None, serialization_alias="to")


class ClusterLineOut(BaseModel):
    brand_code: str
    quantity: int


class ClusterOut(BaseModel):
    cycle_id: IdOut
    manager_id: str
    size: int = Field(description="how many identical orders")
    lines: list[ClusterLineOut] = Field(description="the lines every one of them has (quantity > 0), by spec")
    retailer_ids: list[str] = Field(description="the retailers whose orders they are, sorted")


class ClusterPage(BaseModel):
    items: list[ClusterOut]
    next_cursor: str | None = None
    policy_version: int
    min_cluster: int
    min_lines: int
    cycle_ids: list[str]
    cycles_not_closed: list[str] = Field(default_factory=list)
