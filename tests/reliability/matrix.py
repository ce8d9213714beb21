"""Who may call what, per CONTRACT's "who" column: one row per route of the OpenAPI schema."""

from __future__ import annotations

ALL = frozenset({"admin", "account_manager", "market_manager", "distribution_center", "auditor"})
ADMIN = frozenset({"admin"})
ADMIN_AUDITOR = frozenset({"admin", "auditor"})
WAREHOUSE = frozenset({"distribution_center", "admin", "auditor"})
MANAGERS_READ = frozenset({"account_manager", "market_manager", "admin", "auditor"})
AUDIT_READ = frozenset({"admin", "auditor", "market_manager"})
PUBLIC = None  # no token needed

# "METHOD path" -> the roles that get past authorization (None: anybody, even without a token)
WHO: dict[str, frozenset[str] | None] = {
    "GET /health": PUBLIC,
    "GET /v1/retailers": ALL,
    "GET /v1/retailers/{retailer_id}": ALL,
    "GET /v1/brands": ALL,
    "POST /v1/cycles": ADMIN,
    "GET /v1/cycles": ALL,
    "GET /v1/cycles/{cycle_id}": ALL,
    "GET /v1/cycles/{cycle_id}/summary": ADMIN_AUDITOR,
    "POST /v1/cycles/{cycle_id}/close": ADMIN,
    "POST /v1/cycles/{cycle_id}/reopen": ADMIN,
    "PUT /v1/cycles/{cycle_id}/supply": ADMIN,
    "GET /v1/cycles/{cycle_id}/supply": WAREHOUSE,
    "GET /v1/cap-policy": ADMIN_AUDITOR,
    "PUT /v1/cap-policy": ADMIN,
    "GET /v1/allocation-policy": ADMIN_AUDITOR,
    "PUT /v1/allocation-policy": ADMIN,
    "POST /v1/cycles/{cycle_id}/caps/compute": ADMIN,
    "PUT /v1/cycles/{cycle_id}/caps": ADMIN,
    "GET /v1/cycles/{cycle_id}/caps": MANAGERS_READ,
    "POST /v1/cycles/{cycle_id}/cap-adjustments": frozenset({"account_manager"}),
    "GET /v1/cycles/{cycle_id}/cap-adjustments": MANAGERS_READ,
    "GET /v1/cap-adjustments/{adjustment_id}": MANAGERS_READ,
    "POST /v1/cap-adjustments/{adjustment_id}/approve": frozenset({"market_manager"}),
    "POST /v1/cap-adjustments/{adjustment_id}/reject": frozenset({"market_manager"}),
    "PUT /v1/cycles/{cycle_id}/orders/{retailer_id}": frozenset({"account_manager"}),
    "GET /v1/cycles/{cycle_id}/orders/{retailer_id}": MANAGERS_READ,
    "POST /v1/cycles/{cycle_id}/orders/import": frozenset({"account_manager", "admin"}),
    "GET /v1/cycles/{cycle_id}/orders": MANAGERS_READ,
    "GET /v1/cycles/{cycle_id}/orders/{retailer_id}/versions": MANAGERS_READ,
    "POST /v1/cycles/{cycle_id}/orders/{retailer_id}/approve": frozenset({"market_manager"}),
    "POST /v1/cycles/{cycle_id}/allocation-runs": ADMIN,
    "GET /v1/cycles/{cycle_id}/allocation-runs": ADMIN_AUDITOR,
    "GET /v1/allocation-runs/{run_id}": ADMIN_AUDITOR,
    "GET /v1/allocation-runs/{run_id}/allocations": ADMIN_AUDITOR,
    "POST /v1/allocation-runs/{run_id}/publish": ADMIN,
    "GET /v1/cycles/{cycle_id}/allocations": frozenset({"distribution_center", "admin", "auditor",
                                                        "account_manager"}),
    "GET /v1/cycles/{cycle_id}/allocations.csv": frozenset({"distribution_center", "admin", "auditor",
                                                            "account_manager"}),
    "GET /v1/publications": WAREHOUSE,
    "GET /v1/cycles/{cycle_id}/pick-list": WAREHOUSE,
    "PUT /v1/cycles/{cycle_id}/forecasts/{manager_id}": frozenset({"account_manager"}),
    "GET /v1/cycles/{cycle_id}/forecasts/{manager_id}": MANAGERS_READ,
    "GET /v1/cycles/{cycle_id}/forecasts": MANAGERS_READ,
    "GET /v1/cycles/{cycle_id}/forecasts/{manager_id}/versions": MANAGERS_READ,
    "GET /v1/accuracy": MANAGERS_READ,
    "GET /v1/accuracy.csv": MANAGERS_READ,
    "GET /v1/compliance": AUDIT_READ,
    "GET /v1/compliance.csv": AUDIT_READ,
    "GET /v1/compliance/clusters": AUDIT_READ,
    "GET /v1/compliance-policy": ADMIN_AUDITOR,
    "PUT /v1/compliance-policy": ADMIN,
    "GET /v1/audit-events": ADMIN_AUDITOR,
    "GET /v1/supply-policy": ADMIN_AUDITOR,
    "PUT /v1/supply-policy": ADMIN,
    "PUT /v1/cycles/{cycle_id}/availability": ADMIN,
    "GET /v1/cycles/{cycle_id}/availability": ADMIN_AUDITOR,
    "GET /v1/cycles/{cycle_id}/supply-plan": ADMIN_AUDITOR,
    "GET /v1/cycles/{cycle_id}/supply-plan.csv": ADMIN_AUDITOR,
    "POST /v1/cycles/{cycle_id}/scenarios": ADMIN,
    "GET /v1/cycles/{cycle_id}/scenarios": ADMIN_AUDITOR,
    "GET /v1/scenarios/{scenario_id}": ADMIN_AUDITOR,
    "GET /v1/scenarios/{scenario_id}/allocations": ADMIN_AUDITOR,
    "GET /v1/scenarios/{scenario_id}/fill-ratios": ADMIN_AUDITOR,
}


def operations(openapi: dict) -> list[str]:
    """Every "METHOD path" the running app documents."""
    verbs = {"get", "put", "post", "patch", "delete"}
    return [f"{m.upper()} {p}" for p, ops in openapi["paths"].items() for m in ops if m in verbs]


def allowed(label: str, role: str | None) -> bool:
    """Whether this role (None: no token) gets past authorization on this route."""
    who = WHO[label]
    return who is None or role in who
