"""Who may open which console page or use which console action: one row per /ui route of the app."""

from __future__ import annotations

from tests.reliability.matrix import ADMIN, ADMIN_AUDITOR, ALL

PUBLIC = None  # no sign-in needed

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
}

# a well-formed form body per action, aimed at the reliability world's objects
FORMS: dict[str, dict] = {}


def console_routes() -> list[str]:
    """Every "METHOD path" of the console's page modules (its static files aside)."""
    from api.ui import page_modules

    return [f"{m} {route.path}" for module in page_modules() for route in module.router.routes
            for m in sorted(route.methods) if m != "HEAD"]
