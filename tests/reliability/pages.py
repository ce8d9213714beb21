"""Who may open which console page or use which console action: one row per /ui route of the app."""

from __future__ import annotations

from tests.reliability.matrix import ADMIN, ADMIN_AUDITOR, ALL, MANAGERS_READ, WAREHOUSE

PUBLIC = None  # no sign-in needed
MARKET = frozenset({"market_manager"})
ACCOUNT = frozenset({"account_manager"})

# "METHOD path" -> the roles that get past authorization (None: anybody, signed in or not)
PAGES: dict[str, frozenset[str] | None] = {
    "GET /ui": PUBLIC,
    "GET /ui/": PUBLIC,
    "POST /ui/sign-in": PUBLIC,
    "POST /ui/sign-out": PUBLIC,
    "GET /ui/lang/{lang}": PUBLIC,
    "GET /ui/welcome": ALL,
    "GET /ui/audit": ADMIN_AUDITOR,
    "GET /ui/cycles": ADMIN_AUDITOR,
    "GET /ui/cycles/{cycle_id}": ADMIN_AUDITOR,
    "POST /ui/cycles/{cycle_id}/close": ADMIN,
    "POST /ui/cycles/{cycle_id}/runs": ADMIN,
    "GET /ui/runs/{run_id}": ADMIN_AUDITOR,
    "GET /ui/runs/{run_id}/status": ADMIN_AUDITOR,
    "POST /ui/runs/{run_id}/publish": ADMIN,
    "GET /ui/supply-plan/{cycle_id}": ADMIN_AUDITOR,
    "GET /ui/scenarios/{scenario_id}": ADMIN_AUDITOR,
    "GET /ui/approvals": MARKET,
    "GET /ui/approvals/accuracy": MARKET,
    "GET /ui/approvals/{cycle_id}/{retailer_id}": MARKET,
    "POST /ui/approvals/{cycle_id}/{retailer_id}/approve": MARKET,
    "POST /ui/cap-adjustments/{adjustment_id}/{decision}": MARKET,
    "GET /ui/orders": ACCOUNT,
    "GET /ui/orders/{cycle_id}/{retailer_id}": ACCOUNT,
    "POST /ui/orders/{cycle_id}/{retailer_id}": ACCOUNT,
    "GET /ui/forecasts": ACCOUNT,
    "POST /ui/forecasts/{cycle_id}": ACCOUNT,
    "GET /ui/accuracy": MANAGERS_READ,
    "GET /ui/accuracy/managers/{manager_id}": MANAGERS_READ,
    "GET /ui/compliance": frozenset({"auditor", "admin", "market_manager"}),
    "GET /ui/distribution": WAREHOUSE,
    "GET /ui/distribution/{cycle_id}": WAREHOUSE,
    "GET /ui/distribution/{cycle_id}/allocations.csv": WAREHOUSE,
}

# a well-formed form body per action, aimed at the reliability world's objects
FORMS: dict[str, dict] = {
    "POST /ui/approvals/{cycle_id}/{retailer_id}/approve": {"version": "1"},
    "POST /ui/orders/{cycle_id}/{retailer_id}": {"brand_code": "11001001", "quantity": "2"},
    "POST /ui/forecasts/{cycle_id}": {"brand_code": "11001001", "quantity": "7"},
}


def console_routes() -> list[str]:
    """Every "METHOD path" of the console's page modules (its static files aside)."""
    from api.ui import page_modules

    return [f"{m} {route.path}" for module in page_modules() for route in module.router.routes
            for m in sorted(route.methods) if m != "HEAD"]
